"""SQL the artifact service needs: who owns a path's experiment/run/model, a run's
artifact URI, and the rows of in-progress multipart uploads. All scoped by workspace_id."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Column, Connection, delete, insert, select

from runyard.store.sql.schema import experiments, logged_models, multipart_uploads, runs

_IN_BATCH = 500  # keeps IN lists far below SQLite's variable limit


def _owned(conn: Connection, column: Column[Any], wid_column: Column[Any], wid: int, keys: Sequence) -> set:
    found: set = set()
    for i in range(0, len(keys), _IN_BATCH):
        batch = keys[i : i + _IN_BATCH]
        found.update(conn.execute(select(column).where(wid_column == wid, column.in_(batch))).scalars())
    return found


def owned_experiments(conn: Connection, wid: int, ids: Sequence[int]) -> set[int]:
    """Which of ``ids`` are experiments of workspace ``wid``."""
    return _owned(conn, experiments.c.experiment_id, experiments.c.workspace_id, wid, ids)


def owned_runs(conn: Connection, wid: int, run_ids: Sequence[str]) -> set[str]:
    return _owned(conn, runs.c.run_uuid, runs.c.workspace_id, wid, run_ids)


def owned_models(conn: Connection, wid: int, model_ids: Sequence[str]) -> set[str]:
    return _owned(conn, logged_models.c.model_id, logged_models.c.workspace_id, wid, model_ids)


def run_artifact_uri(conn: Connection, wid: int, run_id: str) -> tuple[str | None, str] | None:
    """(artifact_uri, lifecycle_stage) of a run in workspace ``wid``, or None."""
    row = conn.execute(
        select(runs.c.artifact_uri, runs.c.lifecycle_stage).where(
            runs.c.workspace_id == wid, runs.c.run_uuid == run_id
        )
    ).first()
    return (row.artifact_uri, row.lifecycle_stage) if row else None


# -- multipart uploads -------------------------------------------------------------------
def insert_upload(conn: Connection, wid: int, upload_id: str, path: str, now: int) -> None:
    conn.execute(
        insert(multipart_uploads).values(upload_id=upload_id, workspace_id=wid, path=path, creation_time=now)
    )


def upload_path(conn: Connection, wid: int, upload_id: str) -> str | None:
    """The destination path of an upload started in workspace ``wid``, or None."""
    return conn.execute(
        select(multipart_uploads.c.path).where(
            multipart_uploads.c.workspace_id == wid, multipart_uploads.c.upload_id == upload_id
        )
    ).scalar()


def delete_upload(conn: Connection, wid: int, upload_id: str) -> int:
    return conn.execute(
        delete(multipart_uploads).where(
            multipart_uploads.c.workspace_id == wid, multipart_uploads.c.upload_id == upload_id
        )
    ).rowcount


def purge_uploads(conn: Connection, before: int) -> list[str]:
    """Forget uploads started before ``before`` (ms) in every workspace; return their ids.

    Housekeeping across workspaces, like a storage lifecycle rule: nothing is read back.
    """
    ids = list(
        conn.execute(
            select(multipart_uploads.c.upload_id).where(multipart_uploads.c.creation_time < before)
        ).scalars()
    )
    _delete_ids(conn, ids)
    return ids


def _delete_ids(conn: Connection, ids: Iterable[str]) -> None:
    ids = list(ids)
    column = multipart_uploads.c.upload_id
    for i in range(0, len(ids), _IN_BATCH):
        conn.execute(delete(multipart_uploads).where(column.in_(ids[i : i + _IN_BATCH])))


__all__ = [
    "delete_upload",
    "insert_upload",
    "owned_experiments",
    "owned_models",
    "owned_runs",
    "purge_uploads",
    "run_artifact_uri",
    "upload_path",
]
