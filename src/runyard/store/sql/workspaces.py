"""SQL for workspaces and the shared id counters."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select, update

from runyard.entities import Workspace
from runyard.store.sql.dialect import insert_ignore
from runyard.store.sql.schema import (
    batch_jobs,
    counters,
    endpoints,
    experiment_tags,
    experiments,
    logged_models,
    multipart_uploads,
    registered_models,
    runs,
    workspaces,
)

_ACTIVE_JOBS = ("queued", "running")


def _row(r) -> Workspace:  # noqa: ANN001 - a Row
    return Workspace(r.id, r.name, r.description, r.creation_time, r.last_update_time)


def get_by_name(conn: Connection, name: str) -> Workspace | None:
    r = conn.execute(select(workspaces).where(workspaces.c.name == name)).first()
    return _row(r) if r else None


def list_all(conn: Connection) -> list[Workspace]:
    return [_row(r) for r in conn.execute(select(workspaces).order_by(workspaces.c.name))]


def insert_workspace(conn: Connection, name: str, description: str | None, now: int) -> Workspace:
    wid = conn.execute(
        insert(workspaces)
        .values(name=name, description=description, creation_time=now, last_update_time=now)
        .returning(workspaces.c.id)
    ).scalar_one()
    return Workspace(wid, name, description, now, now)


def update_description(conn: Connection, wid: int, description: str | None, now: int) -> None:
    conn.execute(
        update(workspaces).where(workspaces.c.id == wid).values(description=description, last_update_time=now)
    )


def remaining_content(conn: Connection, wid: int, default_experiment_id: int) -> list[str]:
    """The kinds of things still in the workspace (each check stops at the first row)."""
    e, r, lm, rm = experiments.c, runs.c, logged_models.c, registered_models.c
    ep, bj = endpoints.c, batch_jobs.c
    checks = (
        (
            "experiments",
            select(e.experiment_id).where(e.workspace_id == wid, e.experiment_id != default_experiment_id),
        ),
        ("runs", select(r.run_uuid).where(r.workspace_id == wid)),
        ("logged models", select(lm.model_id).where(lm.workspace_id == wid)),
        ("registered models", select(rm.name).where(rm.workspace_id == wid)),
        ("endpoints", select(ep.id).where(ep.workspace_id == wid)),
        (
            "queued or running batch jobs",
            select(bj.id).where(bj.workspace_id == wid, bj.status.in_(_ACTIVE_JOBS)),
        ),
    )
    return [kind for kind, stmt in checks if conn.execute(stmt.limit(1)).first() is not None]


def delete_workspace(conn: Connection, wid: int) -> None:
    """Delete an emptied workspace with what is left of it: its Default experiment and the
    history of its finished batch jobs."""
    conn.execute(delete(experiment_tags).where(experiment_tags.c.workspace_id == wid))
    conn.execute(delete(experiments).where(experiments.c.workspace_id == wid))
    conn.execute(delete(batch_jobs).where(batch_jobs.c.workspace_id == wid))
    conn.execute(delete(multipart_uploads).where(multipart_uploads.c.workspace_id == wid))
    conn.execute(workspaces.delete().where(workspaces.c.id == wid))


def next_value(conn: Connection, name: str) -> int:
    """Atomically take the next value of a named counter (row-locked on PostgreSQL)."""
    value = conn.execute(
        update(counters)
        .where(counters.c.name == name)
        .values(value=counters.c.value + 1)
        .returning(counters.c.value)
    ).scalar()
    if value is None:
        # First use: create the counter (a concurrent replica may race us to it).
        insert_ignore(conn, counters, {"name": name, "value": 0})
        return next_value(conn, name)
    return value
