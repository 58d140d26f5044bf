"""``runyard import``: load an export folder into a workspace of this server.

The target workspace must be empty (only its untouched Default experiment), and no run or
logged model id of the export may exist on the server: anything else is refused before
a byte is written. Then, in order: experiment ids are reserved (kept where this server does
not use them, new ones otherwise), artifact files are copied to their (re-numbered) paths,
and all rows go in ONE transaction. A failure rolls the rows back, removes the copied files
and drops a workspace that ``--create`` made: the target is left as it was (at most some
reserved experiment ids are skipped), so the import can simply be run again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sqlalchemy.exc import DataError, IntegrityError

from runyard.artifacts.base import ArtifactBackend, split_path
from runyard.entities import DEFAULT_EXPERIMENT_ID, Workspace
from runyard.errors import AlreadyExists, InvalidParameter, InvalidState, NotFound
from runyard.maintenance import format as fmt
from runyard.services import audit
from runyard.services.artifacts import proxied_path
from runyard.services.workspaces import WorkspaceService
from runyard.store.sql import transfer as sql
from runyard.store.sql import workspaces as ws_sql
from runyard.store.sql.engine import Database
from runyard.store.sql.fresh_stats import vacuum_analyze
from runyard.store.sql.inputs import DATASET
from runyard.store.sql.schema import logged_models, runs

log = logging.getLogger("runyard.import")

BATCH = 2000
_HTTP_ANCHOR = "/api/2.0/mlflow-artifacts/artifacts"
_NS = uuid.UUID("6f1c2a57-3d0e-4c3b-9a53-1b7f0e6c2d41")  # derives the target's dataset/input ids


@dataclass
class ImportSummary:
    workspace: str = ""
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    renumbered: dict[str, str] = field(default_factory=dict)  # experiment ids that changed


class _Remap:
    """How ids and artifact URIs of the export become the target's."""

    def __init__(self, wid: int, experiment_ids: dict[int, int]) -> None:
        self.wid = wid
        self.experiments = experiment_ids
        self.changed = {str(k): str(v) for k, v in experiment_ids.items() if k != v}

    def local_id(self, old: str | None) -> str | None:
        # Dataset and input ids are internal and unique server-wide: derive fresh ones.
        return None if old is None else uuid.uuid5(_NS, f"{self.wid}:{old}").hex

    def path(self, path: str) -> str:
        head, sep, rest = path.partition("/")
        return self.changed[head] + sep + rest if head in self.changed else path

    def uri(self, uri: str | None) -> str | None:
        path = proxied_path(uri)
        if uri is None or path is None or not self.changed:
            return uri
        new = self.path(path)
        if new == path:
            return uri
        parsed = urlparse(uri)
        if parsed.scheme.lower() == "mlflow-artifacts":
            return f"{parsed.scheme}:{'//' + parsed.netloc if parsed.netloc else ''}/{new}"
        # http(s)://host/.../api/2.0/mlflow-artifacts/artifacts/<path>
        return uri.split(_HTTP_ANCHOR, 1)[0] + _HTTP_ANCHOR + "/" + new

    def row(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        if "experiment_id" in row and table != "logged_model_metrics":
            row["experiment_id"] = self.experiments[row["experiment_id"]]
        if table == "experiments":
            row["artifact_location"] = self.uri(row["artifact_location"])
        elif table == "runs":
            row["artifact_uri"] = self.uri(row["artifact_uri"])
        elif table == "logged_models":
            row["artifact_location"] = self.uri(row["artifact_location"])
        elif table == "model_versions":
            row["source"] = self.uri(row.get("source"))
            row["storage_location"] = self.uri(row.get("storage_location"))
        elif table == "datasets":
            row["dataset_uuid"] = self.local_id(row["dataset_uuid"])
        elif table == "inputs":
            row["input_uuid"] = self.local_id(row["input_uuid"])
            if row["source_type"] == DATASET:
                row["source_id"] = self.local_id(row["source_id"])
        elif table == "input_tags":
            row["input_uuid"] = self.local_id(row["input_uuid"])
        elif table == "logged_model_metrics":
            row["dataset_uuid"] = self.local_id(row.get("dataset_uuid"))
        return row


def _refuse_content(conn, ws: Workspace) -> None:  # noqa: ANN001 - a Connection
    found = {k: n for k, n in sql.workspace_content(conn, ws.id).items() if n}
    if found:
        what = ", ".join(f"{n} {k}" for k, n in found.items())
        raise InvalidState(
            f"Workspace '{ws.name}' is not empty ({what}): import only into an empty workspace, "
            "e.g. a new one with --create."
        )


def _check_ids(db: Database, folder: Path, manifest: dict[str, Any]) -> None:
    """Run and logged model ids are unique server-wide: refuse before writing anything."""
    for table, name, col in ((runs, "runs", "run_uuid"), (logged_models, "logged_models", "model_id")):
        clashes: list[str] = []
        for rows in fmt.read_rows(folder, manifest, name, 5000):
            with db.read() as conn:
                clashes += sql.existing(conn, table, col, [r[col] for r in rows])
        if clashes:
            kind = "runs" if name == "runs" else "logged models"
            raise AlreadyExists(
                f"{len(clashes)} {kind} of the export already exist on this server "
                f"(e.g. {', '.join(clashes[:3])}): it was imported before. "
                "Delete them there, or import into another server."
            )


def _reserve_experiment_ids(db: Database, folder: Path, manifest: dict[str, Any]) -> dict[int, int]:
    """Keep each experiment id this server does not use; take a new one for the others.

    Committed on its own: the counter moves past every kept id, so the running server never
    hands one out while the import is under way.
    """
    old = [
        r["experiment_id"] for rows in fmt.read_rows(folder, manifest, "experiments", 100_000) for r in rows
    ]

    def tx(conn) -> dict[int, int]:  # noqa: ANN001
        taken = sql.taken_experiment_ids(conn, [i for i in old if i != DEFAULT_EXPERIMENT_ID])
        kept = [i for i in old if i not in taken]
        if kept:
            sql.raise_counter(conn, sql.EXPERIMENT_COUNTER, max(kept))
        mapping = {i: i for i in kept}
        for i in sorted(taken):
            mapping[i] = ws_sql.next_value(conn, sql.EXPERIMENT_COUNTER)
        return mapping

    return db.write(tx)


def _artifact_root(path: str) -> str:
    """What to delete to undo a copied file after a failure: the folder of its experiment,
    run or logged model (none of which exist here yet), or the file itself elsewhere."""
    parts = split_path(path)
    if not parts[0].isdigit() or len(parts) < 3:
        return path
    if parts[0] != str(DEFAULT_EXPERIMENT_ID):
        return parts[0]
    return "/".join(parts[:3] if parts[1] == "models" else parts[:2])


def import_workspace(
    db: Database,
    backend: ArtifactBackend,
    workspaces: WorkspaceService,
    folder: Path,
    name: str,
    *,
    create: bool,
    on_rows: Callable[[int], None] = lambda n: None,
    on_file: Callable[[int], None] = lambda n: None,
) -> ImportSummary:
    manifest = fmt.read_manifest(folder)
    try:
        ws: Workspace | None = workspaces.resolve(name)
    except NotFound:
        if not create:
            raise NotFound(f"Workspace '{name}' does not exist: pass --create to create it.") from None
        ws = None
    if ws is not None:
        with db.read() as conn:
            _refuse_content(conn, ws)
    _check_ids(db, folder, manifest)
    created = ws is None
    if ws is None:
        ws = workspaces.create(name, manifest["workspace"].get("description"))
    roots: set[str] = set()
    try:
        remap = _Remap(ws.id, _reserve_experiment_ids(db, folder, manifest))
        summary = ImportSummary(workspace=ws.name, renumbered=dict(remap.changed))
        for path, local in fmt.artifact_files(folder):
            target = remap.path(path)
            roots.add(_artifact_root(target))
            with open(local, "rb") as f:
                size = backend.write(target, iter(lambda f=f: f.read(1 << 20), b""))
            summary.files += 1
            on_file(size)
        log.info("copied %d artifact files", summary.files)
        try:
            summary.rows = db.write(lambda conn: _insert_all(conn, ws, folder, manifest, remap, on_rows))
        except (IntegrityError, DataError, ValueError, KeyError) as exc:
            raise InvalidParameter(
                f"The export in '{folder}' could not be imported ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0]}); nothing was changed. Is it damaged or edited by hand?"
            ) from exc
    except BaseException:
        for root in sorted(roots):
            backend.delete(root)
        if created:
            workspaces.delete(ws.name)
        raise
    log.info("imported workspace %s: %s", ws.name, summary.rows)
    # A bulk load: make its rows searchable at full speed now rather than after autovacuum.
    vacuum_analyze(db.engine)
    return summary


def _insert_all(
    conn,  # noqa: ANN001 - a Connection
    ws: Workspace,
    folder: Path,
    manifest: dict[str, Any],
    remap: _Remap,
    on_rows: Callable[[int], None],
) -> dict[str, int]:
    _refuse_content(conn, ws)  # again, inside the transaction: nothing slipped in meanwhile
    if DEFAULT_EXPERIMENT_ID in remap.experiments:
        sql.drop_default_experiment(conn, ws.id)
    counts: dict[str, int] = {}
    for name in fmt.TABLE_NAMES:
        counts[name] = 0
        for rows in fmt.read_rows(folder, manifest, name, BATCH):
            sql.insert_rows(conn, fmt.table(name), ws.id, [remap.row(name, r) for r in rows])
            counts[name] += len(rows)
            on_rows(len(rows))
    details = {"from": manifest["workspace"]["name"], "created": manifest.get("created"), "rows": counts}
    audit.record(conn, ws.id, "workspace.import", ws.name, details, actor="runyard import")
    return counts


__all__ = ["ImportSummary", "import_workspace"]
