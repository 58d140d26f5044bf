"""Statements for the hottest paths, compiled once per dialect and run on the driver's cursor.

Building a SQLAlchemy statement, computing its cache key and setting up its execution
context costs a few hundred microseconds: more than SQLite takes to answer a primary-key
lookup, and most of what a small request such as runs/create spends. A :class:`Prepared`
statement is built once, compiled to SQL text once per dialect, and then runs straight on
the DBAPI cursor of the caller's connection, inside the caller's transaction. On PostgreSQL
it is also prepared on the server at its first use on a connection, and planned once (the
connections ask for generic plans, see engine.py): these are key lookups whose best plan does
not depend on the values, and planning a page's ``= ANY(<255 ids>)`` afresh took about as
long as running it (1.2 ms).

:class:`StatementCache` does the same for statements built per request (searches): each
distinct query is compiled once and kept, least recently used first out, so a repeated search
(a client paging, a dashboard polling) skips building and compiling its SQL. PostgreSQL
plans a search at every execution, for its values: its filter's values are parameters too,
and a plan made without them can be fifty times slower (see :class:`StatementCache`).

Only for statements whose parameters and columns need no SQLAlchemy type processing
(ints, floats, strings, NULL): values go to the driver, and rows come back, as they are.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, bindparam
from sqlalchemy.sql import ClauseElement

Row = tuple[Any, ...]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    order: tuple[str, ...] | None
    constants: dict[str, Any]
    # PostgreSQL only (None elsewhere): True prepares the statement on the server at its
    # first use, to be planned once; False plans it at every execution, for its values.
    prepare: bool | None = None

    @classmethod
    def of(
        cls, stmt: ClauseElement, conn: Connection, *, expand: bool = False, prepare: bool = False
    ) -> _Compiled:
        """``expand``: write each value of an IN list as its own parameter (the statement is
        then only good for those values); otherwise IN lists are refused. ``prepare``: see
        the field (ignored but on PostgreSQL)."""
        kwargs = {"render_postcompile": True} if expand else {}
        compiled = stmt.compile(dialect=conn.dialect, compile_kwargs=kwargs)
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("a prepared statement cannot hold an expanding IN list; use any_of()")
        # Positional drivers (SQLite's "?") need the values in placeholder order.
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        # Constants written into the statement (``col == "RUN"``) became parameters too.
        constants = {k: v for k, v in compiled.params.items() if v is not None}
        return cls(compiled.string, order, constants, prepare if conn.dialect.name == "postgresql" else None)

    def args(self, params: Mapping[str, Any]) -> Any:
        values = {**self.constants, **params} if self.constants else params
        return values if self.order is None else tuple(values[name] for name in self.order)

    def execute(self, cur: Any, params: Mapping[str, Any]) -> None:
        if self.prepare is None:
            cur.execute(self.sql, self.args(params))
        else:
            cur.execute(self.sql, self.args(params), prepare=self.prepare)

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[Row]:
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            self.execute(cur, params)
            return cur.fetchall()
        finally:
            cur.close()


def run_text(conn: Connection, sql: str, params: Mapping[str, Any]) -> tuple[int, Row | None]:
    """Run hand-written SQL (in the driver's paramstyle) on the caller's connection, straight
    on the driver: (rows changed, the first row returned or None)."""
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql, params)
        return cur.rowcount, cur.fetchone() if cur.description else None
    finally:
        cur.close()


def rows_text(conn: Connection, sql: str, params: Mapping[str, Any]) -> list[Row]:
    """Run hand-written SQL (in the driver's paramstyle) on the caller's connection, straight
    on the driver: every row it returns."""
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []
    finally:
        cur.close()


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
                hit = self._compiled[dialect.name] = _Compiled.of(
                    self._build(dialect.name), conn, prepare=True
                )
        return hit

    def rows(self, conn: Connection, **params: Any) -> list[Row]:
        return self._sql(conn).rows(conn, params)

    def first(self, conn: Connection, **params: Any) -> Row | None:
        found = self.rows(conn, **params)
        return found[0] if found else None

    def run(self, conn: Connection, **params: Any) -> int:
        """Execute once; the number of rows it changed."""
        c = self._sql(conn)
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            c.execute(cur, params)
            return cur.rowcount
        finally:
            cur.close()

    def run_many(self, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
        """Execute once per parameter set (one driver round trip on each); rows changed."""
        c = self._sql(conn)
        args: Sequence[Any] = [c.args(r) for r in rows]
        if not args:
            return 0
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cur.executemany(c.sql, args)
            return cur.rowcount
        finally:
            cur.close()


class StatementCache:
    """Statements built per request, compiled once per distinct ``key`` and kept (LRU).

    ``key`` must name everything the statement is built from, values included (they are
    compiled in); only the parameters given to :meth:`rows` (a page's offset and limit, with
    ``bindparam(name, 0)`` in the statement) change between executions.

    The values compiled in still travel as parameters, so PostgreSQL never prepares these:
    it plans each execution with its values. A plan made without them (a prepared
    statement's generic plan) guesses one row per condition; for ``metrics.m0 > 0.5 and
    params.p = 'x'`` over 1,000 runs it probed the metric index once per candidate run, 56 ms
    where the plan for the values takes 0.7 ms to make and 2 ms to run.
    """

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, _Compiled] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def rows(
        self, conn: Connection, key: Hashable, build: Callable[[], ClauseElement], **params: Any
    ) -> list[Row]:
        full_key = (conn.dialect.name, key)
        with self._lock:
            hit = self._entries.get(full_key)
            if hit is not None:
                self._entries.move_to_end(full_key)
        if hit is None:
            hit = _Compiled.of(build(), conn, expand=True, prepare=False)
            with self._lock:
                self._entries[full_key] = hit
                if len(self._entries) > self._size:
                    self._entries.popitem(last=False)
        return hit.rows(conn, params)

    def page(
        self, conn: Connection, key: Hashable, build: Callable[[], Select[Any]], offset: int, limit: int
    ) -> list[Row]:
        """One page of the ordered query ``build`` makes: only offset and limit vary."""
        return self.rows(
            conn, key, lambda: build().offset(_OFFSET).limit(_LIMIT), page_offset=offset, page_limit=limit
        )


_OFFSET, _LIMIT = bindparam("page_offset", 0), bindparam("page_limit", 0)

__all__ = ["Prepared", "Row", "StatementCache", "rows_text", "run_text"]
