"""Statements for the hottest paths, compiled once per dialect and run on the driver's cursor.

Building a SQLAlchemy statement, computing its cache key and setting up its execution
context costs a few hundred microseconds: more than SQLite takes to answer a primary-key
lookup, and most of what a small request such as runs/create spends. A :class:`Prepared`
statement is built once, compiled to SQL text once per dialect, and then runs straight on
the DBAPI cursor of the caller's connection, inside the caller's transaction. psycopg also
prepares it on the server after a few uses.

Only for statements whose parameters and columns need no SQLAlchemy type processing
(ints, floats, strings, NULL): values go to the driver, and rows come back, as they are.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import ClauseElement

Row = tuple[Any, ...]


class Prepared:
    """One statement; ``build(dialect_name)`` makes it, with named ``bindparam``s."""

    __slots__ = ("_build", "_compiled", "_lock")

    def __init__(self, build: Callable[[str], ClauseElement]) -> None:
        self._build = build
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None]] = {}
        self._lock = threading.Lock()

    def _sql(self, conn: Connection) -> tuple[str, tuple[str, ...] | None]:
        dialect = conn.dialect
        hit = self._compiled.get(dialect.name)
        if hit is None:
            with self._lock:
                compiled = self._build(dialect.name).compile(dialect=dialect)
                # Positional drivers (SQLite's "?") need the values in placeholder order.
                order = tuple(compiled.positiontup or ()) if compiled.positional else None
                hit = self._compiled[dialect.name] = (compiled.string, order)
        return hit

    def _args(self, order: tuple[str, ...] | None, params: Mapping[str, Any]) -> Any:
        return params if order is None else tuple(params[name] for name in order)

    def rows(self, conn: Connection, **params: Any) -> list[Row]:
        sql, order = self._sql(conn)
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cur.execute(sql, self._args(order, params))
            return cur.fetchall()
        finally:
            cur.close()

    def first(self, conn: Connection, **params: Any) -> Row | None:
        found = self.rows(conn, **params)
        return found[0] if found else None

    def run(self, conn: Connection, **params: Any) -> int:
        """Execute once; the number of rows it changed."""
        sql, order = self._sql(conn)
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cur.execute(sql, self._args(order, params))
            return cur.rowcount
        finally:
            cur.close()

    def run_many(self, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
        """Execute once per parameter set (one driver round trip on each); rows changed."""
        sql, order = self._sql(conn)
        args: Sequence[Any] = [self._args(order, r) for r in rows]
        if not args:
            return 0
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cur.executemany(sql, args)
            return cur.rowcount
        finally:
            cur.close()


__all__ = ["Prepared"]
