"""Proxied artifacts: workspace isolation, multipart uploads and run artifact listings.

Proxied artifact paths start with an experiment id (``<experiment_id>/<run_id>/artifacts/...``,
``<experiment_id>/models/<model_id>/artifacts/...``) and experiment ids are unique across
workspaces, so the first segment says who owns a path. The exception is experiment ``0``:
every workspace has its own Default experiment with that id, so below ``0/`` the run id (or
``models/<model_id>``) decides. Paths that start with anything else belong to the ``default``
workspace only (legacy layouts, hand-made folders). A path owned by another workspace
answers exactly as a missing one does. Storage is ``<artifacts_destination>/<path>``, the
same layout as ``mlflow server --artifacts-destination``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Sequence
from urllib.parse import unquote, urlparse

from runyard.artifacts.base import (
    MAX_PARTS,
    ArtifactBackend,
    FileEntry,
    Part,
    ReadStream,
    artifact_backend,
    join_path,
    split_path,
)
from runyard.entities import DEFAULT_WORKSPACE, Workspace
from runyard.errors import InvalidParameter, NotFound, PermissionDenied, Unavailable
from runyard.services import validation as v
from runyard.services.clock import now_ms
from runyard.store.sql import artifact_lookup as sql
from runyard.store.sql.engine import Database

_EXPERIMENT_ID = re.compile(r"^(0|[1-9][0-9]{0,18})$")
_MAX_ID = 2**63 - 1  # experiment ids are BIGINT
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_HTTP_ANCHOR = "/api/2.0/mlflow-artifacts/artifacts"
# Ids never move between workspaces, so a hit stays true; the TTL only bounds how long a
# hard-deleted experiment stays reachable on this replica. Misses are never cached.
_CACHE_TTL_S = 60.0
_CACHE_MAX = 50_000
# Abandoned multipart uploads (and temp files of crashed uploads) are swept after this.
_STALE_S = 24 * 3600.0
_SWEEP_EVERY_S = 3600.0

# What a path belongs to: the kind and id of its owner, or one of these two markers.
_SHARED = "shared"  # the root, "0" and "0/models": listable by every workspace, filtered
_DEFAULT_ONLY = "default-only"
_LOOKUPS = {"experiment": sql.owned_experiments, "run": sql.owned_runs, "model": sql.owned_models}


def _owner(parts: Sequence[str]) -> tuple[str, str | int | None]:
    if not parts:
        return _SHARED, None
    if not _EXPERIMENT_ID.match(parts[0]) or int(parts[0]) > _MAX_ID:
        return _DEFAULT_ONLY, None
    eid = int(parts[0])
    if eid != 0:
        return "experiment", eid
    if len(parts) == 1:
        return _SHARED, None
    if _RUN_ID.match(parts[1]):
        return "run", parts[1]
    if parts[1] == "models":
        return (_SHARED, None) if len(parts) == 2 else ("model", parts[2])
    return _DEFAULT_ONLY, None


def proxied_path(uri: str | None) -> str | None:
    """The store path behind a proxied artifact URI, or None if ``uri`` is not proxied.

    ``mlflow-artifacts:/1/abc/artifacts`` and
    ``http://host/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts`` both give ``1/abc/artifacts``.
    """
    if not uri:
        return None
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    if scheme == "mlflow-artifacts":
        return unquote(parsed.path).lstrip("/")
    if scheme in ("http", "https") and _HTTP_ANCHOR in parsed.path:
        return unquote(parsed.path.split(_HTTP_ANCHOR, 1)[1]).lstrip("/")
    return None


def _file_name(local_file: str | None) -> str:
    """The name a multipart upload is stored under: the client's file name (any OS)."""
    v.require(local_file, "path")
    name = re.split(r"[\\/]", local_file or "")[-1]
    if name in ("", ".", ".."):
        raise InvalidParameter(f"Invalid path '{local_file}': it must end with a file name.")
    return name


class ArtifactService:
    def __init__(
        self, db: Database, destination: str, serve: bool, backend: ArtifactBackend | None = None
    ) -> None:
        self._db = db
        self.backend = backend or artifact_backend(destination)
        self.serving = serve
        self._cache: dict[tuple[int, str, str | int], float] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    # -- workspace isolation ---------------------------------------------------------------
    def _owned(self, ws: Workspace, kind: str, keys: Iterable[str | int]) -> set[str | int]:
        now = time.monotonic()
        hits: set[str | int] = set()
        misses: list[str | int] = []
        for key in dict.fromkeys(keys):
            if self._cache.get((ws.id, kind, key), 0.0) > now:
                hits.add(key)
            else:
                misses.append(key)
        if misses:
            with self._db.read() as conn:
                found = _LOOKUPS[kind](conn, ws.id, misses)
            with self._lock:
                if len(self._cache) + len(found) > _CACHE_MAX:
                    self._cache.clear()
                for key in found:
                    self._cache[(ws.id, kind, key)] = now + _CACHE_TTL_S
            hits |= found
        return hits

    def _check(self, ws: Workspace, path: str | None, *, listing: bool = False) -> list[str]:
        """Validated segments of ``path`` if workspace ``ws`` may use it; else the error."""
        parts = split_path(path)
        kind, key = _owner(parts)
        shown = "/".join(parts)
        if kind == _SHARED:
            if listing:
                return parts
            raise PermissionDenied(
                f"'{shown}' is a shared artifact folder: it can be listed, not read, written or deleted."
            )
        if kind == _DEFAULT_ONLY:
            if ws.name == DEFAULT_WORKSPACE:
                return parts
            raise PermissionDenied(
                f"Artifact path '{shown}' is outside workspace '{ws.name}': paths in a workspace "
                "start with the id of one of its experiments."
            )
        if key not in self._owned(ws, kind, [key]):  # type: ignore[list-item]
            what = {"experiment": "experiment", "run": "run", "model": "logged model"}[kind]
            raise NotFound(f"No {what} with id={key} in workspace '{ws.name}' (artifact path '{shown}').")
        return parts

    def _visible(self, ws: Workspace, entries: list[FileEntry]) -> list[FileEntry]:
        """Drop listing entries of a shared folder that belong to other workspaces."""
        owners = [_owner(e.path.split("/")) for e in entries]
        wanted: dict[str, list[str | int]] = {}
        for kind, key in owners:
            if kind not in (_SHARED, _DEFAULT_ONLY):
                wanted.setdefault(kind, []).append(key)  # type: ignore[arg-type]
        owned = {kind: self._owned(ws, kind, keys) for kind, keys in wanted.items()}
        is_default = ws.name == DEFAULT_WORKSPACE
        out = []
        for entry, (kind, key) in zip(entries, owners, strict=True):
            if kind == _SHARED or (kind == _DEFAULT_ONLY and is_default) or key in owned.get(kind, ()):
                out.append(entry)
        return out

    def _require_serving(self) -> None:
        if not self.serving:
            raise Unavailable(
                "The proxied artifact API is disabled: the server was started with --no-serve-artifacts "
                "(RUNYARD_SERVE_ARTIFACTS=false). Restart it with --serve-artifacts to use it."
            )

    # -- files -----------------------------------------------------------------------------
    def open_read(self, ws: Workspace, path: str, start: int = 0, length: int | None = None) -> ReadStream:
        self._require_serving()
        return self.backend.open_read("/".join(self._check(ws, path)), start=start, length=length)

    def write(self, ws: Workspace, path: str, chunks: Iterable[bytes]) -> int:
        """Check first, then stream: a refused upload reads none of the body."""
        self._require_serving()
        return self.backend.write("/".join(self._check(ws, path)), chunks)

    def list(self, ws: Workspace, path: str | None) -> list[FileEntry]:
        """Children of ``path`` (paths relative to the store root), as ``ws`` may see them."""
        self._require_serving()
        return self._list(ws, path)

    def _list(self, ws: Workspace, path: str | None) -> list[FileEntry]:
        parts = self._check(ws, path, listing=True)
        entries = self.backend.list("/".join(parts))
        if _owner(parts)[0] == _SHARED:
            entries = self._visible(ws, entries)
        return entries

    def delete(self, ws: Workspace, path: str) -> None:
        self._require_serving()
        self.backend.delete("/".join(self._check(ws, path)))

    @property
    def presigns(self) -> bool:
        """Whether the backend can hand out presigned download URLs (S3, Azure with a key)."""
        return type(self.backend).presigned_url is not ArtifactBackend.presigned_url

    def presigned_download(self, ws: Workspace, path: str, expires_s: int) -> tuple[str, int]:
        """(URL, size) reading one file straight from the store, checked as a download is."""
        self._require_serving()
        found = self.backend.presigned_url("/".join(self._check(ws, path)), expires_s)
        if found is None:
            raise Unavailable("This artifact store cannot sign download URLs; download through the server.")
        return found

    # -- multipart uploads -----------------------------------------------------------------
    def _target(self, ws: Workspace, artifact_dir: str | None, local_file: str | None) -> str:
        target = join_path(artifact_dir, _file_name(local_file))
        self._check(ws, target)
        return target

    def _upload_target(self, ws: Workspace, upload_id: str | None) -> str:
        v.require(upload_id, "upload_id")
        with self._db.read() as conn:
            target = sql.upload_path(conn, ws.id, upload_id)  # type: ignore[arg-type]
        if target is None:
            raise NotFound(f"No multipart upload with id '{upload_id}' in workspace '{ws.name}'.")
        return target

    def create_multipart(
        self, ws: Workspace, artifact_dir: str | None, local_file: str | None, num_parts: int | None
    ) -> tuple[str, str, int]:
        """Start an upload of ``local_file``'s name into ``artifact_dir``: (upload_id, path, parts)."""
        self._require_serving()
        n = num_parts or 0
        if not 0 <= n <= MAX_PARTS:
            raise InvalidParameter(f"Invalid num_parts {num_parts}: an upload has 0 to {MAX_PARTS} parts.")
        target = self._target(ws, artifact_dir, local_file)
        self._sweep()
        upload_id = self.backend.create_multipart(target)
        try:
            self._db.write(lambda conn: sql.insert_upload(conn, ws.id, upload_id, target, now_ms()))
        except BaseException:
            self.backend.abort_multipart(target, upload_id)
            raise
        return upload_id, target, n

    def upload_part(
        self, ws: Workspace, path: str, upload_id: str | None, part_number: int, chunks: Iterable[bytes]
    ) -> str:
        """Store one part. The upload id is the credential (like a presigned URL)."""
        self._require_serving()
        target = self._upload_target(ws, upload_id)
        if target != join_path(path):
            raise NotFound(f"No multipart upload with id '{upload_id}' for '{path}'.")
        return self.backend.upload_part(target, upload_id, part_number, chunks)  # type: ignore[arg-type]

    def complete_multipart(
        self,
        ws: Workspace,
        artifact_dir: str | None,
        local_file: str | None,
        upload_id: str | None,
        parts: list[Part],
    ) -> int:
        self._require_serving()
        target = self._target(ws, artifact_dir, local_file)
        if self._upload_target(ws, upload_id) != target:
            raise NotFound(f"No multipart upload with id '{upload_id}' for '{target}'.")
        size = self.backend.complete_multipart(target, upload_id, parts)  # type: ignore[arg-type]
        self._db.write(lambda conn: sql.delete_upload(conn, ws.id, upload_id))  # type: ignore[arg-type]
        return size

    def abort_multipart(
        self, ws: Workspace, artifact_dir: str | None, local_file: str | None, upload_id: str | None
    ) -> None:
        self._require_serving()
        target = self._target(ws, artifact_dir, local_file)
        if self._upload_target(ws, upload_id) != target:
            raise NotFound(f"No multipart upload with id '{upload_id}' for '{target}'.")
        self.backend.abort_multipart(target, upload_id)  # type: ignore[arg-type]
        self._db.write(lambda conn: sql.delete_upload(conn, ws.id, upload_id))  # type: ignore[arg-type]

    def _sweep(self) -> None:
        """Now and then, forget uploads nobody finished (a storage lifecycle rule)."""
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + _SWEEP_EVERY_S
        self.backend.purge_stale(_STALE_S)
        self._db.write(lambda conn: sql.purge_uploads(conn, now_ms() - int(_STALE_S * 1000)))

    # -- run artifacts (GET /2.0/mlflow/artifacts/list) --------------------------------------
    def list_run_artifacts(
        self, ws: Workspace, run_id: str | None, path: str | None
    ) -> tuple[str | None, list[FileEntry]]:
        """(run artifact root URI, entries with paths relative to that root)."""
        v.require(run_id, "run_id")
        rel = join_path(path)
        with self._db.read() as conn:
            row = sql.run_artifact_uri(conn, ws.id, run_id)  # type: ignore[arg-type]
        if row is None:
            raise NotFound(f"Run with id={run_id} not found")
        root_uri = row[0]
        store_path = proxied_path(root_uri)
        if store_path is not None:
            entries = self._list(ws, join_path(store_path, rel))
        elif root_uri:
            entries = artifact_backend(root_uri).list(rel)
        else:
            entries = []
        prefix = f"{rel}/" if rel else ""
        return root_uri, [FileEntry(prefix + e.name, e.is_dir, e.file_size) for e in entries]


__all__ = ["ArtifactService", "proxied_path"]
