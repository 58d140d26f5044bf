"""Model files for deployments: ``models:/`` URI → one registered version → a local folder.

A deployment records the version it resolved (an alias may move later; the deployment does
not, until it is updated). The version's files are copied from the server's own artifact
store into ``<serving_dir>/models/<workspace_id>/<model>/<version>/``: downloaded into a
temporary folder first and renamed into place, so a scoring process never sees half a model.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from runyard.entities import Workspace
from runyard.errors import InvalidParameter
from runyard.services.artifacts import ArtifactService, proxied_path
from runyard.services.model_versions import ModelVersionService
from runyard.services.registry import RegistryService

_VERSION = re.compile(r"^[1-9][0-9]{0,18}$")
_FORMS = "models:/<name>/<version>, models:/<name>@<alias> or models:/<name>/latest"


@dataclass(frozen=True)
class ResolvedModel:
    uri: str  # as the caller gave it
    name: str
    version: int
    source: str  # where the version's files are (storage location or source)


def parse_models_uri(uri: str | None) -> tuple[str, str | None, str | None]:
    """``models:/name/3`` → (name, "3", None); ``models:/name@alias`` → (name, None, alias)."""
    if not uri or not uri.startswith("models:/"):
        raise InvalidParameter(f"Invalid model URI '{uri}': use {_FORMS}.")
    rest = uri[len("models:/") :].strip("/")
    if "@" in rest and "/" not in rest.split("@", 1)[1]:
        name, alias = rest.rsplit("@", 1)
        if name and alias:
            return name, None, alias
    elif rest.count("/") == 1:
        name, version = rest.split("/")
        if name and (_VERSION.match(version) or version.lower() == "latest"):
            return name, version, None
    raise InvalidParameter(f"Invalid model URI '{uri}': use {_FORMS}.")


class ModelFiles:
    def __init__(
        self,
        registry: RegistryService,
        versions: ModelVersionService,
        artifacts: ArtifactService,
        cache_dir: Path,
    ) -> None:
        self._registry = registry
        self._versions = versions
        self._artifacts = artifacts
        self.cache_dir = cache_dir

    def resolve(self, ws: Workspace, uri: str | None) -> ResolvedModel:
        name, version, alias = parse_models_uri(uri)
        assert uri is not None
        if alias is not None or (version or "").lower() == "latest":
            mv = self._registry.version_by_alias(ws, name, alias or "latest")
        else:
            mv = self._versions.get(ws, name, version)
        source = mv.storage_location or mv.source or ""
        return ResolvedModel(uri, mv.name, int(mv.version), source)

    def resolve_recorded(self, ws: Workspace, name: str, version: int, uri: str) -> ResolvedModel:
        """The version a deployment recorded (its alias may have moved since)."""
        mv = self._versions.get(ws, name, version)
        return ResolvedModel(uri, mv.name, int(mv.version), mv.storage_location or mv.source or "")

    def recorded_path(self, ws: Workspace, name: str, version: int, uri: str) -> Path:
        """The cached folder of a recorded version, downloading it again only if it is gone."""
        target = self.folder(ws.id, name, version)
        if (target / "MLmodel").is_file():
            return target
        return self.fetch(ws, self.resolve_recorded(ws, name, version, uri))

    def folder(self, ws_id: int, name: str, version: int) -> Path:
        return self.cache_dir / str(ws_id) / quote(name, safe="") / str(version)

    def fetch(self, ws: Workspace, model: ResolvedModel) -> Path:
        """The local folder holding the version's MLmodel, downloading it once."""
        target = self.folder(ws.id, model.name, model.version)
        if (target / "MLmodel").is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{model.version}-", dir=target.parent))
        try:
            self._download(ws, model, tmp)
            if not (tmp / "MLmodel").is_file():
                raise InvalidParameter(
                    f"Model version {model.name}/{model.version} has no MLmodel file at its source "
                    f"'{model.source}': only MLflow models can be deployed."
                )
            try:
                os.rename(tmp, target)
            except OSError:
                # Another request put the same version in place first: theirs is as good.
                if not (target / "MLmodel").is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return target

    def _download(self, ws: Workspace, model: ResolvedModel, dest: Path) -> None:
        path = proxied_path(model.source)
        if path is not None:
            self._copy_proxied(ws, path.rstrip("/"), dest)
            return
        parsed = urlparse(model.source)
        if parsed.scheme in ("", "file") and parsed.path.startswith("/"):
            local = Path(unquote(parsed.path))
            if local.is_dir():
                shutil.copytree(local, dest, dirs_exist_ok=True)
                return
        raise InvalidParameter(
            f"Cannot fetch model version {model.name}/{model.version}: its files are at "
            f"'{model.source}', which is not in this server's artifact store. Register versions "
            "from runs or logged models tracked on this server (mlflow-artifacts:/ locations)."
        )

    def _copy_proxied(self, ws: Workspace, root: str, dest: Path) -> None:
        pending = [root]
        while pending:
            folder = pending.pop()
            for entry in self._artifacts.list(ws, folder):
                if entry.is_dir:
                    pending.append(entry.path)
                    continue
                rel = entry.path[len(root) :].lstrip("/")
                out = dest / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                with self._artifacts.open_read(ws, entry.path) as stream, open(out, "wb") as f:
                    for chunk in stream:
                        f.write(chunk)


__all__ = ["ModelFiles", "ResolvedModel", "parse_models_uri"]
