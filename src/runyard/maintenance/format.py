"""The workspace export format (version 1): a folder any tool can read.

::

    manifest.json          written last: a folder without it is an unfinished export
    tables/<table>.jsonl   one JSON array per line, values in the manifest's column order
    artifacts/<path>       the proxied artifact files, at their artifact-store paths

``manifest.json`` holds ``format`` ("runyard-workspace-export"), ``version`` (1), the
Runyard version and time that wrote it, the workspace (name, description), and for each
table its file, columns and row count, plus the number and bytes of artifact files.
Tables are Runyard's own (``store/sql/schema.py``) minus ``workspace_id``: experiments and
their tags, runs with params, tags, metric history and latest metrics, datasets and inputs
(with input tags), logged models with params, tags and metrics, registered models with
tags, versions (with tags, stages) and aliases. Ids are kept as they are (run ids, logged
model ids, model names and versions); experiment ids are kept unless the target server
already uses them. Floats that JSON cannot spell are written as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"``. Access control (members, tokens) and the audit log
are not part of an export: they belong to a server, not to a workspace's content.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import Float, Table

from runyard.errors import InvalidParameter
from runyard.store.sql import schema

FORMAT = "runyard-workspace-export"
VERSION = 1
MANIFEST = "manifest.json"
TABLES_DIR = "tables"
ARTIFACTS_DIR = "artifacts"

# Import order: whatever another table points at comes first.
TABLE_NAMES: tuple[str, ...] = (
    "experiments",
    "experiment_tags",
    "runs",
    "params",
    "tags",
    "metrics",
    "latest_metrics",
    "datasets",
    "inputs",
    "input_tags",
    "logged_models",
    "logged_model_params",
    "logged_model_tags",
    "logged_model_metrics",
    "registered_models",
    "registered_model_tags",
    "model_versions",
    "model_version_tags",
    "registered_model_aliases",
)

_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_ENCODE = msgspec.json.Encoder().encode
_DECODE = msgspec.json.Decoder(list).decode


def _float_positions(name: str, cols: list[str]) -> list[int]:
    floats = {c.name for c in table(name).columns if isinstance(c.type, Float)}
    return [i for i, c in enumerate(cols) if c in floats]


def table(name: str) -> Table:
    return schema.metadata.tables[name]


def columns(name: str) -> list[str]:
    """The exported columns of a table: all but ``workspace_id`` (the target sets its own)."""
    return [c.name for c in table(name).columns if c.name != "workspace_id"]


def _encode(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


class TableWriter:
    """Appends rows of one table to its JSON-lines file."""

    def __init__(self, folder: Path, name: str) -> None:
        self.name = name
        self.rows = 0
        self.file = f"{TABLES_DIR}/{name}.jsonl"
        self._f = open(folder / self.file, "wb")  # noqa: SIM115 - closed in close()
        self._floats = _float_positions(name, columns(name))

    def write(self, rows: list[tuple]) -> None:
        at = self._floats
        lines = []
        for row in rows:
            values = list(row)
            for i in at:
                values[i] = _encode(values[i])
            lines.append(_ENCODE(values))
        if lines:
            self._f.write(b"\n".join(lines) + b"\n")
        self.rows += len(rows)

    def close(self) -> dict[str, Any]:
        self._f.close()
        return {"file": self.file, "columns": columns(self.name), "rows": self.rows}


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of an export folder, checked; InvalidParameter says what is wrong."""
    path = folder / MANIFEST
    if not path.is_file():
        raise InvalidParameter(
            f"'{folder}' is not a finished Runyard export: {MANIFEST} is missing "
            "(an interrupted `runyard export` leaves none; export again)."
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InvalidParameter(f"'{path}' is not valid JSON: {exc}.") from None
    if manifest.get("format") != FORMAT:
        raise InvalidParameter(f"'{path}' is not a Runyard workspace export (format is not '{FORMAT}').")
    if manifest.get("version") != VERSION:
        raise InvalidParameter(
            f"'{path}' has export format version {manifest.get('version')}; this Runyard reads version "
            f"{VERSION}. Use the Runyard version that wrote it, or a newer one."
        )
    for name, spec in manifest.get("tables", {}).items():
        if name not in TABLE_NAMES:
            raise InvalidParameter(f"'{path}' lists an unknown table '{name}'.")
        unknown = set(spec["columns"]) - set(columns(name))
        if unknown:
            raise InvalidParameter(f"Table '{name}' in '{path}' has unknown columns: {sorted(unknown)}.")
        if not (folder / spec["file"]).is_file():
            raise InvalidParameter(f"'{folder / spec['file']}' is missing from the export.")
    return manifest


def read_rows(
    folder: Path, manifest: dict[str, Any], name: str, batch: int
) -> Iterator[list[dict[str, Any]]]:
    """Rows of a table as dicts, ``batch`` at a time (never the whole table in memory)."""
    spec = manifest["tables"].get(name)
    if spec is None:
        return
    cols = spec["columns"]
    at = _float_positions(name, cols)
    out: list[dict[str, Any]] = []
    with open(folder / spec["file"], "rb") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                values = _DECODE(line)
                for i in at:
                    if values[i].__class__ is str:
                        values[i] = _SPECIAL[values[i]]
                out.append(dict(zip(cols, values, strict=True)))
            except (msgspec.DecodeError, ValueError, KeyError, TypeError) as exc:
                raise InvalidParameter(
                    f"Line {number} of '{folder / spec['file']}' is not a valid row of {name}: {exc}."
                ) from None
            if len(out) >= batch:
                yield out
                out = []
    if out:
        yield out


def artifact_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """(store path, local file) of every artifact in an export, in a stable order."""
    root = folder / ARTIFACTS_DIR
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(dirpath) / name
            yield full.relative_to(root).as_posix(), full


__all__ = [
    "ARTIFACTS_DIR",
    "FORMAT",
    "MANIFEST",
    "TABLES_DIR",
    "TABLE_NAMES",
    "VERSION",
    "TableWriter",
    "artifact_files",
    "columns",
    "read_manifest",
    "read_rows",
    "table",
]
