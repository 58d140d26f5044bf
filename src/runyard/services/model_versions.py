"""Model versions: create (with the source checks MLflow's server makes), stages, tags,
delete, download URI and search.

Version numbers come from the registered model's counter (store/sql/model_versions.py), so
concurrent creates on any number of replicas yield 1..N with no gaps and no repeats.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import unquote, unquote_plus, urlparse, urlsplit

from sqlalchemy import Connection

from runyard.entities import ModelVersion, Workspace
from runyard.errors import InvalidParameter
from runyard.search import SearchEntity, parse_model_version_filter, parse_order_by
from runyard.search.page_token import query_fingerprint
from runyard.services import validation as v
from runyard.services.clock import now_ms
from runyard.services.paging import Page, offset_page
from runyard.services.registry import (
    ACTIVE_STAGES,
    PROMPT_TAG,
    STAGES,
    canonical_stage,
    model_name,
    model_not_found,
    registry_tag,
    text,
    version_not_found,
    version_number,
)
from runyard.store.sql import model_versions as mv_sql
from runyard.store.sql import registry as sql
from runyard.store.sql.engine import Database

MAX_RESULTS_VERSIONS = 200_000  # also MLflow's default when max_results is left out
_ARTIFACTS_ROUTE = ("api", "2.0", "mlflow-artifacts", "artifacts")
_MODEL_ID = re.compile(r"^[\w\-]{1,64}$")  # logged model ids look like m-<32 hex>


@dataclass
class _Source:
    """Where a new version's files are, and the lineage that comes with them."""

    source: str
    run_id: str | None
    model_id: str | None
    storage_location: str | None = None


def _invalid_source(source: str, what: str) -> InvalidParameter:
    return InvalidParameter(
        f"Invalid model version source: '{source}'. The {what} request parameter must identify the "
        "resource that contains the source."
    )


def _reject_relative_paths(source: str) -> None:
    """No ``..``, NUL or relative local path may reach a server-side path (as MLflow checks)."""
    decoded = source
    while (once := unquote_plus(decoded)) != decoded:
        decoded = once
    path = re.sub(r"/+", "/", urlparse(decoded).path.rstrip("/"))
    if (
        "\x00" in path
        or any(part == ".." for part in decoded.split("/"))
        or not path.startswith("/")
        or posixpath.normpath(path) != path
    ):
        raise InvalidParameter(
            f"Invalid model version source: '{source}'. Local paths and http, https, object store "
            "and mlflow-artifacts URIs must be absolute, without relative path references."
        )


def _parts(uri: str) -> tuple[str, str, tuple[str, ...]]:
    p = urlsplit(uri)
    return p.scheme.lower(), p.netloc.lower(), tuple(unquote(x) for x in p.path.split("/") if x)


def _within(source: str, root: str | None) -> bool:
    if not root:
        return False
    s_scheme, s_host, s_parts = _parts(source)
    r_scheme, r_host, r_parts = _parts(root)
    if r_scheme == "file" and s_scheme == "":  # a bare path and file:// name the same place
        s_scheme = "file"
    return (s_scheme, s_host) == (r_scheme, r_host) and bool(r_parts) and s_parts[: len(r_parts)] == r_parts


def _is_local(uri: str) -> bool:
    return urlparse(uri).scheme in ("", "file")


def _is_proxied(uri: str) -> bool:
    scheme, _, parts = _parts(uri)
    if scheme == "mlflow-artifacts":
        return True
    n = len(_ARTIFACTS_ROUTE)
    return scheme in ("http", "https") and any(
        parts[i : i + n] == _ARTIFACTS_ROUTE for i in range(len(parts))
    )


def _models_uri(source: str) -> tuple[str | None, str | None, str | None]:
    """``models:/<id>`` → (id, None, None); ``models:/<name>/<suffix>`` → (None, name, suffix);
    ``models:/<name>@<alias>`` → (None, name, "@alias")."""
    path = urlparse(source).path
    parts = path.lstrip("/").split("/")
    if not path.startswith("/") or len(parts) > 2 or not parts[0].strip():
        raise InvalidParameter(f"Invalid model version source: '{source}' is not a valid models:/ URI.")
    if len(parts) == 2:
        if not parts[1].strip():
            raise InvalidParameter(f"Invalid model version source: '{source}' is not a valid models:/ URI.")
        return None, parts[0], parts[1]
    if "@" in parts[0]:
        name, alias = parts[0].rsplit("@", 1)
        return None, name, "@" + alias
    return parts[0], None, None


class ModelVersionService:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- reads -------------------------------------------------------------------------------
    def get(self, ws: Workspace, name: str | None, version: str | int | None) -> ModelVersion:
        name, number = model_name(name), version_number(version)
        with self._db.read() as conn:
            mv = sql.get_version(conn, ws.id, name, number)
        if mv is None:
            raise version_not_found(name, number)
        return mv

    def download_uri(self, ws: Workspace, name: str | None, version: str | None) -> str:
        mv = self.get(ws, name, version)
        return mv.storage_location or mv.source or ""

    def search(
        self,
        ws: Workspace,
        filter_string: str | None,
        order_by: list[str],
        max_results: int | None,
        page_token: str | None,
    ) -> Page[ModelVersion]:
        limit = v.max_results(max_results, MAX_RESULTS_VERSIONS, MAX_RESULTS_VERSIONS)
        parsed_filter = parse_model_version_filter(text(filter_string, "filter"))
        orders = parse_order_by(SearchEntity.MODEL_VERSIONS, order_by)
        fingerprint = query_fingerprint("model_versions", filter_string or "", list(order_by))

        def fetch(offset: int, n: int) -> list[ModelVersion]:
            with self._db.read() as conn:
                return mv_sql.search_versions(conn, ws.id, parsed_filter, orders, offset, n)

        return offset_page(page_token, fingerprint, limit, fetch)

    # -- changes -----------------------------------------------------------------------------
    def create(
        self,
        ws: Workspace,
        name: str | None,
        source: str | None,
        run_id: str | None,
        tags: dict[str, str | None],
        run_link: str | None,
        description: str | None,
        model_id: str | None,
        user_id: str | None = None,
    ) -> ModelVersion:
        name = model_name(name)
        v.require(source, "source")
        assert source is not None
        for value, what in ((source, "source"), (run_link, "run_link"), (description, "description")):
            text(value, what)
        checked = dict(registry_tag(k, val) for k, val in tags.items())
        if run_id:
            v.run_id(run_id)
        if model_id and not _MODEL_ID.match(model_id):
            raise InvalidParameter(f"Invalid model_id: '{model_id}'.")
        now = now_ms()
        with self._db.read() as conn:
            if (checked.get(PROMPT_TAG) or "").lower() == "true":
                resolved = _Source(source, run_id or None, model_id or None)
            else:
                resolved = self._resolve_source(conn, ws, source, run_id or None, model_id or None)

        def tx(conn: Connection) -> int:
            number = mv_sql.allocate_version(conn, ws.id, name, now)
            if number is None:
                raise model_not_found(name)
            mv_sql.insert_version(
                conn,
                ws.id,
                checked,
                name=name,
                version=number,
                creation_time=now,
                last_updated_time=now,
                description=description,
                user_id=user_id,
                current_stage="None",
                source=resolved.source,
                run_id=resolved.run_id,
                run_link=run_link,
                status="READY",
                storage_location=resolved.storage_location,
                model_id=resolved.model_id,
            )
            return number

        return self.get(ws, name, self._db.write(tx))

    def update(
        self, ws: Workspace, name: str | None, version: str | None, description: str | None
    ) -> ModelVersion:
        name, number = model_name(name), version_number(version)
        text(description, "description")
        now = now_ms()
        changed = self._db.write(
            lambda conn: mv_sql.update_version(
                conn, ws.id, name, number, description=description, last_updated_time=now
            )
        )
        if not changed:
            raise version_not_found(name, number)
        return self.get(ws, name, number)

    def transition_stage(
        self, ws: Workspace, name: str | None, version: str | None, stage: str | None, archive_existing: bool
    ) -> ModelVersion:
        name, number = model_name(name), version_number(version)
        target = canonical_stage(stage)
        if archive_existing and target not in ACTIVE_STAGES:
            raise InvalidParameter(
                f"Model version transition cannot archive existing model versions because '{stage}' is "
                f"not an Active stage. Valid stages are {list(ACTIVE_STAGES)}"
            )
        now = now_ms()

        def tx(conn: Connection) -> None:
            # The model row first, as every registry write does: one lock order, no deadlocks.
            sql.update_model(conn, ws.id, name, last_updated_time=now)
            if not mv_sql.update_version(
                conn, ws.id, name, number, current_stage=target, last_updated_time=now
            ):
                raise version_not_found(name, number)
            if archive_existing:
                mv_sql.archive_stage(conn, ws.id, name, target, number, now)

        self._db.write(tx)
        return self.get(ws, name, number)

    def delete(self, ws: Workspace, name: str | None, version: str | None) -> None:
        name, number = model_name(name), version_number(version)
        now = now_ms()

        def tx(conn: Connection) -> None:
            sql.update_model(conn, ws.id, name, last_updated_time=now)  # model row first (lock order)
            if not mv_sql.delete_version(conn, ws.id, name, number, now):
                raise version_not_found(name, number)

        self._db.write(tx)

    def set_tag(
        self, ws: Workspace, name: str | None, version: str | None, key: str | None, value: str | None
    ) -> None:
        name, number = model_name(name), version_number(version)
        key, value = registry_tag(key, value)

        def tx(conn: Connection) -> None:
            if not sql.version_exists(conn, ws.id, name, number):
                raise version_not_found(name, number)
            mv_sql.set_version_tags(conn, ws.id, name, number, {key: value})

        self._db.write(tx)

    def delete_tag(self, ws: Workspace, name: str | None, version: str | None, key: str | None) -> None:
        """Deleting a tag the version does not have is not an error (MLflow's rule)."""
        name, number = model_name(name), version_number(version)
        v.key(key, "tag key")
        assert key is not None

        def tx(conn: Connection) -> None:
            if not sql.version_exists(conn, ws.id, name, number):
                raise version_not_found(name, number)
            mv_sql.delete_version_tag(conn, ws.id, name, number, key)

        self._db.write(tx)

    # -- where the files are -----------------------------------------------------------------
    def _resolve_source(
        self, conn: Connection, ws: Workspace, source: str, run_id: str | None, model_id: str | None
    ) -> _Source:
        """Check that ``source`` lies inside the run or logged model named with it (so nobody
        can register, and later serve, files they could not read), and find its storage."""
        _reject_relative_paths(source)
        scheme = urlparse(source).scheme
        if scheme == "models":
            return self._from_models_uri(conn, ws, source, run_id, model_id)
        if model_id:
            found = mv_sql.logged_model(conn, ws.id, model_id)
            if scheme == "runs" or found is None:
                raise _invalid_source(source, "model_id")
            if (_is_local(source) or _is_proxied(source)) and not _within(source, found[0]):
                raise _invalid_source(source, "model_id")
            return _Source(source, run_id or found[1], model_id)
        if scheme == "runs":
            parsed = urlparse(source)
            source_run = parsed.path.lstrip("/").split("/", 1)[0]
            if parsed.netloc or not run_id or source_run != run_id:
                raise _invalid_source(source, "run_id")
        elif _is_local(source) or _is_proxied(source):
            root = mv_sql.run_artifact_uri(conn, ws.id, run_id) if run_id else None
            if _is_local(source) and (root is None or not _is_local(root)):
                raise InvalidParameter(
                    f"Invalid model version source: '{source}'. To use a local path as a model version "
                    "source, the run_id request parameter has to be specified and the local path has "
                    "to be contained within the artifact directory of the run specified by the run_id."
                )
            if not _within(source, root):
                raise _invalid_source(source, "run_id")
        return _Source(source, run_id, None)

    def _from_models_uri(
        self, conn: Connection, ws: Workspace, source: str, run_id: str | None, model_id: str | None
    ) -> _Source:
        if urlparse(source).netloc:
            raise InvalidParameter(
                f"Invalid model version source: '{source}'. Registered model sources must use the "
                "active model registry."
            )
        source_model_id, name, suffix = _models_uri(source)
        if source_model_id is not None:
            if model_id != source_model_id:
                raise _invalid_source(source, "model_id")
            found = mv_sql.logged_model(conn, ws.id, model_id)
            if found is None:
                raise InvalidParameter(
                    f"Invalid model version source: '{source}'. Logged model '{model_id}' does not "
                    "exist in this workspace."
                )
            return _Source(source, run_id or found[1], model_id, found[0])
        assert name is not None and suffix is not None
        mv = self._version_for(conn, ws, name, suffix)
        if (run_id is not None and run_id != (mv.run_id or "")) or (
            model_id is not None and model_id != (mv.model_id or "")
        ):
            raise InvalidParameter(
                f"Invalid model version source: '{source}'. The run_id and model_id request "
                "parameters must match the referenced model version."
            )
        return _Source(
            f"models:/{mv.name}/{mv.version}",
            run_id if run_id is not None else mv.run_id,
            model_id if model_id is not None else mv.model_id,
            mv.storage_location or mv.source,
        )

    def _version_for(self, conn: Connection, ws: Workspace, name: str, suffix: str) -> ModelVersion:
        """The version a ``models:/name/<version|stage|latest>`` or ``models:/name@alias`` means."""
        if not sql.model_exists(conn, ws.id, name):
            raise model_not_found(name)
        number: int | None
        if suffix.isdigit():
            number = int(suffix)
        elif suffix.startswith("@"):
            number = sql.alias_version(conn, ws.id, name, suffix[1:])
            if number is None:
                raise InvalidParameter(f"Registered model alias {suffix[1:]} not found.")
        else:
            stages = set(STAGES) if suffix.lower() == "latest" else {canonical_stage(suffix)}
            latest = [
                mv.version for mv in sql.latest_versions(conn, ws.id, name) if mv.current_stage in stages
            ]
            number = max(latest, default=None)
        mv = sql.get_version(conn, ws.id, name, number) if number is not None else None
        if mv is None:
            raise version_not_found(name, suffix.lstrip("@"))
        return mv


__all__ = ["MAX_RESULTS_VERSIONS", "ModelVersionService"]
