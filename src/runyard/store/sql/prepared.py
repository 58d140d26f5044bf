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
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import ClauseElement

Row = tuple[Any, ...]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    order: tuple[str, ...] | None
    constants: dict[str, Any]


class Prepared:
    """One statement; ``build(dialect_name)`` makes it, with named ``bindparam``s."""

    __slots__ = ("_build", "_compiled", "_lock")

    def __init__(self, build: Callable[[str], ClauseElement]) -> None:
        self._build = build
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def _sql(self, conn: Connection) -> _Compiled:
        dialect = conn.dialect
        hit = self._compiled.get(dialect.name)
        if hit is None:
            with self._lock:
                compiled = self._build(dialect.name).compile(dialect=dialect)
                if "POSTCOMPILE" in compiled.string:
                    raise ValueError("a prepared statement cannot hold an expanding IN list; use any_of()")
                # Positional drivers (SQLite's "?") need the values in placeholder order.
                order = tuple(compiled.positiontup or ()) if compiled.positional else None
                # Constants written into the statement (``col == "RUN"``) became parameters too.
                constants = {k: v for k, v in compiled.params.items() if v is not None}
                hit = self._compiled[dialect.name] = _Compiled(compiled.string, order, constants)
        return hit

    @staticmethod
    def _args(c: _Compiled, params: Mapping[str, Any]) -> Any:
        values = {**c.constants, **params} if c.constants else params
        return values if c.order is None else tuple(values[name] for name in c.order)

    def rows(self, conn: Connection, **params: Any) -> list[Row]:
        c = self._sql(conn)
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cur.execute(c.sql, self._args(c, params))
            return cur.fetchall()
        finally:
            cur.close()

    def first(self, conn: Connection, **params: Any) -> Row | None:
        found = self.rows(conn, **params)
        return found[0] if found else None

    def run(self, conn: Connection, **params: Any) -> int:
        """Execute once; the number of rows it changed."""
        c = self._sql(conn)
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cur.execute(c.sql, self._args(c, params))
            return cur.rowcount
        finally:
            cur.close()

    def run_many(self, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
        """Execute once per parameter set (one driver round trip on each); rows changed."""
        c = self._sql(conn)
        args: Sequence[Any] = [self._args(c, r) for r in rows]
        if not args:
            return 0
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cur.executemany(c.sql, args)
            return cur.rowcount
        finally:
            cur.close()


__all__ = ["Prepared"]
