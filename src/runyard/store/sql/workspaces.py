"""SQL for workspaces and the shared id counters."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from runyard.entities import Workspace
from runyard.store.sql.dialect import insert_ignore
from runyard.store.sql.schema import counters, workspaces


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


def delete_workspace(conn: Connection, wid: int) -> None:
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
