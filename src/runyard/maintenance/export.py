"""``runyard export``: write one workspace (metadata and proxied artifacts) to a folder in
the documented format of ``format.py``, streaming table by table from one snapshot."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from runyard import __version__
from runyard.artifacts.base import ArtifactBackend, split_path
from runyard.entities import Workspace
from runyard.errors import InvalidParameter
from runyard.maintenance import format as fmt
from runyard.services.artifacts import proxied_path
from runyard.store.sql import transfer as sql
from runyard.store.sql.engine import Database

log = logging.getLogger("runyard.export")

BATCH = 2000

# The columns that hold artifact URIs, per table: their proxied files are exported.
_URI_COLUMNS = {
    "experiments": "artifact_location",
    "runs": "artifact_uri",
    "logged_models": "artifact_location",
}


@dataclass
class ExportSummary:
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    bytes: int = 0
    outside: int = 0  # runs/models whose artifacts live outside the server's store (not copied)


class _Roots:
    """Artifact folders to copy: an experiment's own ``<id>`` folder covers its runs and models;
    runs and models elsewhere (the shared Default experiment ``0``) are listed one by one."""

    def __init__(self) -> None:
        self.experiments: set[str] = set()
        self.others: set[str] = set()
        self.outside = 0

    def add(self, table: str, experiment_id: int, uri: str | None) -> None:
        path = proxied_path(uri)
        if path is None:
            self.outside += uri is not None and table != "experiments"
            return
        parts = split_path(path)
        if table == "experiments":
            if parts == [str(experiment_id)] and experiment_id != 0:
                self.experiments.add(parts[0])
            return
        if parts and parts[0] not in self.experiments:
            self.others.add("/".join(parts))

    def all(self) -> list[str]:
        others = {p for p in self.others if p.split("/", 1)[0] not in self.experiments}
        return sorted(self.experiments | others)


def export_workspace(
    db: Database,
    backend: ArtifactBackend,
    ws: Workspace,
    out: Path,
    *,
    on_rows: Callable[[int], None] = lambda n: None,
    on_file: Callable[[int], None] = lambda n: None,
    set_total: Callable[[int], None] = lambda n: None,
) -> ExportSummary:
    """Export ``ws`` into the empty (or new) folder ``out``; the manifest is written last."""
    if out.exists() and any(out.iterdir()):
        raise InvalidParameter(f"The output folder '{out}' is not empty: choose a new or empty folder.")
    (out / fmt.TABLES_DIR).mkdir(parents=True, exist_ok=True)
    (out / fmt.ARTIFACTS_DIR).mkdir(exist_ok=True)
    summary = ExportSummary()
    roots = _Roots()
    manifest_tables = {}
    with sql.snapshot(db) as conn:
        set_total(sum(sql.count_rows(conn, fmt.table(name), ws.id) for name in fmt.TABLE_NAMES))
        for name in fmt.TABLE_NAMES:
            cols = fmt.columns(name)
            writer = fmt.TableWriter(out, name)
            uri_at = cols.index(_URI_COLUMNS[name]) if name in _URI_COLUMNS else None
            eid_at = cols.index("experiment_id") if uri_at is not None else None
            try:
                for rows in sql.stream_rows(conn, fmt.table(name), ws.id, cols, BATCH):
                    writer.write(rows)
                    if uri_at is not None:
                        for row in rows:
                            roots.add(name, row[eid_at], row[uri_at])  # type: ignore[index]
                    on_rows(len(rows))
            finally:
                manifest_tables[name] = writer.close()
            summary.rows[name] = writer.rows
            log.info("exported %d rows of %s", writer.rows, name)
    summary.outside = roots.outside
    for root in roots.all():
        _copy_tree(backend, root, out / fmt.ARTIFACTS_DIR, summary, on_file)
    log.info("exported %d artifact files (%d bytes)", summary.files, summary.bytes)
    manifest = {
        "format": fmt.FORMAT,
        "version": fmt.VERSION,
        "runyard_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "workspace": {"name": ws.name, "description": ws.description},
        "tables": manifest_tables,
        "artifacts": {"folder": fmt.ARTIFACTS_DIR, "files": summary.files, "bytes": summary.bytes},
    }
    # Write-then-rename: a manifest is either absent or complete.
    tmp = out / (fmt.MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tmp.replace(out / fmt.MANIFEST)
    return summary


def _copy_tree(
    backend: ArtifactBackend, root: str, dest: Path, summary: ExportSummary, on_file: Callable[[int], None]
) -> None:
    """Copy every file under ``root`` to ``dest/<path>``, one chunk at a time."""
    stack = [root]
    entry = backend.stat(root)
    if entry is None:
        return
    if not entry.is_dir:
        stack, files = [], [entry]
    else:
        files = []
    while stack or files:
        if not files:
            listing = backend.list(stack.pop())
            stack.extend(e.path for e in listing if e.is_dir)
            files = [e for e in listing if not e.is_dir]
            continue
        f = files.pop()
        target = dest.joinpath(*split_path(f.path))
        target.parent.mkdir(parents=True, exist_ok=True)
        with backend.open_read(f.path) as stream, open(target, "wb") as out:
            for chunk in stream:
                out.write(chunk)
        summary.files += 1
        summary.bytes += stream.size
        on_file(stream.size)


__all__ = ["ExportSummary", "export_workspace"]
