"""The few statements whose spelling differs between SQLite and PostgreSQL.

Both support ``INSERT ... ON CONFLICT``; SQLAlchemy just needs the dialect's own insert().
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def dialect_insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(conn: Connection, table: Table, rows: list[dict[str, Any]] | dict[str, Any]) -> None:
    """Insert rows, silently skipping any whose primary/unique key already exists."""
    if not rows:
        return
    conn.execute(dialect_insert(conn, table).on_conflict_do_nothing(), rows)


__all__ = ["dialect_insert", "insert_ignore"]
