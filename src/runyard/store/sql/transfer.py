"""SQL for workspace export and import: stream a workspace's rows out of each table, insert
them into another workspace, and the checks an import makes first."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Table, delete, func, select, update
from sqlalchemy.exc import DataError, IntegrityError

from runyard.entities import DEFAULT_EXPERIMENT_ID
from runyard.store.sql.dialect import in_ids, insert_ignore
from runyard.store.sql.engine import Database
from runyard.store.sql.schema import (
    counters,
    experiment_tags,
    experiments,
    logged_models,
    registered_models,
    runs,
)

EXPERIMENT_COUNTER = "experiment_id"


@contextmanager
def snapshot(db: Database) -> Iterator[Connection]:
    """One consistent view of the database for a whole export, while the server keeps writing
    (every :meth:`Database.read` block is one snapshot)."""
    with db.read() as conn:
        yield conn


def count_rows(conn: Connection, table: Table, wid: int) -> int:
    return conn.execute(
        select(func.count()).select_from(table).where(table.c.workspace_id == wid)
    ).scalar_one()


def stream_rows(
    conn: Connection, table: Table, wid: int, columns: Sequence[str], batch: int
) -> Iterator[list[tuple]]:
    """The workspace's rows of ``table`` (only ``columns``), ``batch`` at a time.

    A server-side cursor on PostgreSQL and SQLite's own stepping keep memory flat.
    """
    stmt = select(*(table.c[c] for c in columns)).where(table.c.workspace_id == wid)
    result = conn.execution_options(yield_per=batch).execute(stmt)
    try:
        for part in result.partitions():
            yield [tuple(row) for row in part]
    finally:
        result.close()


def insert_rows(conn: Connection, table: Table, wid: int, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        row["workspace_id"] = wid
    names = [c.name for c in table.columns]
    missing = [c for c in table.columns if c.name not in rows[0]] if rows else []
    for row in rows:  # columns the export left out take their server default
        for c in missing:
            row[c.name] = c.server_default.arg if c.server_default is not None else None  # type: ignore[attr-defined]
    cols = ", ".join(f'"{n}"' for n in names)
    if conn.dialect.name != "postgresql":
        # The driver's executemany: SQLAlchemy's per-row bind processing would triple the time.
        marks = ", ".join("?" for _ in names)
        conn.exec_driver_sql(
            f'INSERT INTO "{table.name}" ({cols}) VALUES ({marks})',
            [tuple(r[n] for n in names) for r in rows],
        )
        return
    # COPY is several times faster than batched INSERTs for the big tables (metric history),
    # and runs inside the same transaction as everything else.
    import psycopg

    statement = f'COPY "{table.name}" ({cols}) FROM STDIN'
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row.get(n) for n in names])
    except psycopg.errors.IntegrityError as exc:  # the driver's own: give callers SQLAlchemy's
        raise IntegrityError(statement, None, exc) from exc
    except psycopg.errors.DataError as exc:
        raise DataError(statement, None, exc) from exc


# -- checks before an import ------------------------------------------------------------------


def workspace_content(conn: Connection, wid: int) -> dict[str, int]:
    """What a workspace already holds (its untouched Default experiment does not count)."""

    def count(table: Table, *where: Any) -> int:
        stmt = select(func.count()).select_from(table).where(table.c.workspace_id == wid, *where)
        return conn.execute(stmt).scalar_one()

    return {
        "experiments": count(experiments, experiments.c.experiment_id != DEFAULT_EXPERIMENT_ID),
        "runs": count(runs),
        "logged models": count(logged_models),
        "registered models": count(registered_models),
        "Default experiment tags": count(experiment_tags),
    }


def existing(conn: Connection, table: Table, column: str, ids: Sequence[str]) -> list[str]:
    """Which of ``ids`` already exist in ``table.column`` (in any workspace)."""
    if not ids:
        return []
    return list(
        conn.execute(select(table.c[column]).where(in_ids(conn, table.c[column], list(ids)))).scalars()
    )


def taken_experiment_ids(conn: Connection, ids: Sequence[int]) -> set[int]:
    """Which experiment ids are used by any workspace of this server, or not yet safe to keep."""
    if not ids:
        return set()
    col = experiments.c.experiment_id
    return set(conn.execute(select(col).where(in_ids(conn, col, list(ids)))).scalars())


def raise_counter(conn: Connection, name: str, at_least: int) -> None:
    """Make sure the counter never hands out ``at_least`` or below again."""
    insert_ignore(conn, counters, {"name": name, "value": 0})
    conn.execute(
        update(counters).where(counters.c.name == name, counters.c.value < at_least).values(value=at_least)
    )


def drop_default_experiment(conn: Connection, wid: int) -> None:
    """Remove the target's empty Default experiment so the imported one takes its place."""
    e, t = experiments.c, experiment_tags.c
    conn.execute(
        delete(experiment_tags).where(t.workspace_id == wid, t.experiment_id == DEFAULT_EXPERIMENT_ID)
    )
    conn.execute(delete(experiments).where(e.workspace_id == wid, e.experiment_id == DEFAULT_EXPERIMENT_ID))


__all__ = [
    "EXPERIMENT_COUNTER",
    "count_rows",
    "drop_default_experiment",
    "existing",
    "insert_rows",
    "raise_counter",
    "snapshot",
    "stream_rows",
    "taken_experiment_ids",
    "workspace_content",
]
