"""The few statements whose spelling differs between SQLite and PostgreSQL.

Both support ``INSERT ... ON CONFLICT``; SQLAlchemy just needs the dialect's own insert().
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Connection, String, Table, any_, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite


def dialect_insert(conn: Connection, table: Table) -> Any:
    return insert_for(conn.dialect.name, table)


def insert_for(dialect_name: str, table: Table) -> Any:
    """The dialect's own insert(), which knows ``ON CONFLICT``."""
    return postgresql.insert(table) if dialect_name == "postgresql" else sqlite.insert(table)


def insert_ignore(conn: Connection, table: Table, rows: list[dict[str, Any]] | dict[str, Any]) -> None:
    """Insert rows, silently skipping any whose primary/unique key already exists."""
    if not rows:
        return
    conn.execute(dialect_insert(conn, table).on_conflict_do_nothing(), rows)


def fetch_raw(conn: Connection, stmt: Any) -> list[tuple[Any, ...]]:
    """All rows of ``stmt`` as the driver's plain tuples.

    Skips SQLAlchemy's per-row Row objects, which doubles the speed of the big reads (a
    search page can carry tens of thousands of metrics). Only for columns whose driver
    types are already right (str, int, float; SQLite gives booleans as 0/1).
    """
    result = conn.execute(stmt)
    try:
        return result.cursor.fetchall()  # type: ignore[union-attr]
    finally:
        result.close()


# Up to this many ids go into a plain IN list (a few placeholders); longer lists travel as
# one array parameter, so the SQL text stays constant and its compiled form is cached.
_PLAIN_IN = 16


def in_ids(conn: Connection, column: Any, ids: Sequence[str] | Sequence[int]) -> ColumnElement[bool]:
    """``column IN ids``, with a long list in ONE bind parameter.

    A 50,000-run search page would otherwise need 50,000 placeholders (over SQLite's and
    psycopg's limits, and slow to render): PostgreSQL takes an array (``= ANY``), SQLite
    unpacks a JSON array with ``json_each``.
    """
    if len(ids) <= _PLAIN_IN:
        return column.in_(ids)
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(column.type)))
    values = func.json_each(bindparam(None, json.dumps(list(ids)), type_=String)).table_valued("value")
    return column.in_(select(values.c.value))


def any_of(dialect_name: str, column: Any, name: str = "ids") -> ColumnElement[bool]:
    """``column IN <the list bound to name>``, for a :class:`~runyard.store.sql.prepared.Prepared`
    statement: the list is always one parameter, given as :func:`ids_value` makes it."""
    if dialect_name == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    values = func.json_each(bindparam(name, type_=String)).table_valued("value")
    return column.in_(select(values.c.value))


def ids_value(conn: Connection, ids: Sequence[str] | Sequence[int]) -> Any:
    """The driver value of an :func:`any_of` parameter: PostgreSQL array text, or JSON text
    for SQLite; either way one string the driver passes as it is."""
    return pg_array_text(ids) if conn.dialect.name == "postgresql" else json.dumps(list(ids))


def pg_array_text(values: Sequence[str | None] | Sequence[int]) -> str:
    """``values`` as a PostgreSQL array literal (``{"a","b",NULL}``), every element quoted and
    escaped, so any text is safe (None is NULL). The statement casts it (``::VARCHAR[]``).
    psycopg would dump a list element by element in Python, with a regular expression per
    element to decide its quoting: about a millisecond for a page of run ids."""
    quoted = (
        "NULL" if v is None else '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values
    )
    return "{" + ",".join(quoted) + "}"


def pg_number_array_text(values: Iterable[float | int | bool]) -> str:
    """Numbers or booleans as a PostgreSQL array literal, for the same reason as
    :func:`pg_array_text`. ``repr`` of a float reads back as the same double (PostgreSQL's
    float8 input is correctly rounded, and takes ``inf``), and PostgreSQL's boolean input
    takes ``True``/``False``. NaN never gets here: it is stored as 0 plus is_nan."""
    return "{" + ",".join(map(repr, values)) + "}"


__all__ = [
    "any_of",
    "dialect_insert",
    "fetch_raw",
    "ids_value",
    "in_ids",
    "insert_ignore",
    "pg_array_text",
    "pg_number_array_text",
]
