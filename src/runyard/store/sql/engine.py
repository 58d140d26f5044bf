"""Database connections: SQLite pragmas, the single SQLite writer, PostgreSQL retries.

All writes go through :meth:`Database.write`. On SQLite one connection does every write and
commits queued operations together (group commit, led by a caller): no request ever
sees "database is locked", and 64 concurrent writers cost one fsync per group instead of
one each. Each operation runs inside its own SAVEPOINT so a failing one is rolled back
alone and its caller gets its own error. On PostgreSQL each write is its own transaction,
retried on serialization failures and deadlocks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from runyard.store.sql import liveness
from runyard.store.sql.checkpoint import Checkpointer
from runyard.store.sql.fresh_stats import FreshStats
from runyard.store.sql.group_queue import Group, GroupQueue
from runyard.store.sql.grouped import GroupedWrite, Groups

log = logging.getLogger("runyard.store")

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741 - a grouped write's item
R = TypeVar("R")

# How many queued writes one SQLite transaction may absorb. Large enough to amortise the
# commit under a burst, small enough that one group never holds the lock for long.
_MAX_GROUP = 256
_PG_RETRIES = 5


def normalize_url(url: str) -> str:
    """Accept MLflow-style URIs (``postgresql://``) and pick the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def redact_url(uri: str) -> str:
    """The URI with its password hidden: never print or log a database password."""
    if "@" in uri and "://" in uri:
        scheme, rest = uri.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}" if ":" in creds else uri
    return uri


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DBAPI types
    # Let SQLAlchemy's "begin" event issue BEGIN so SAVEPOINTs work (pysqlite quirk).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL is durable against a process crash (SIGKILL); only an OS crash can lose
    # the last commits, which is the same trade MLflow users already make.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.execute("PRAGMA cache_size=-65536")
    cur.execute("PRAGMA mmap_size=268435456")
    cur.close()


def _sqlite_writer_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DBAPI types
    # The background Checkpointer copies the log back, not the commit that crosses 1,000 pages.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA wal_autocheckpoint=0")
    cur.execute("PRAGMA journal_size_limit=67108864")  # after a burst, shrink the log to 64 MiB
    cur.close()


def _sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL; None for an in-memory database."""
    db = make_url(url).database
    return db if db and db != ":memory:" and not db.startswith("file::memory:") else None


def _make_sqlite_engine(url: str, pool_size: int, begin: str, *, writer: bool = False) -> Engine:
    db = _sqlite_file(url)
    if db:
        Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size * 4,
        pool_use_lifo=True,  # see Database: the most recently used connection is the warmest
        connect_args={"check_same_thread": False, "timeout": 60},
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    if writer:
        event.listen(engine, "connect", _sqlite_writer_pragmas)
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(begin))
    return engine


class _GroupWriter:
    """The only SQLite write connection, and group commit led by a caller (group_queue.py):
    everything queued while one transaction commits goes into the next, together."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._queue: GroupQueue[Callable[[Connection], object]] = GroupQueue(self._run_group, _MAX_GROUP)

    def submit(self, fn: Callable[[Connection], T]) -> T:
        return self._queue.submit(fn)

    def _run_group(self, batch: Group[Callable[[Connection], object]]) -> None:
        self._commit_group(self._connection(), batch)

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._engine.connect()
        return self._conn

    def close(self) -> None:
        self._queue.close()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _commit_group(self, conn: Connection, batch: Group[Callable[[Connection], object]]) -> None:
        results: list[tuple[Future, bool, object]] = []
        # Savepoints straight on the driver: SQLAlchemy's begin_nested() took 49 us of CPU
        # per operation, about a tenth of a small log-batch's whole cost on the server.
        raw = conn.connection.driver_connection if len(batch) > 1 else None
        try:
            with conn.begin():
                for fn, fut in batch:
                    if raw is not None:
                        raw.execute("SAVEPOINT operation")  # type: ignore[union-attr]
                    try:
                        value = fn(conn)
                    except BaseException as exc:  # noqa: BLE001 - handed to the caller
                        if raw is not None:
                            raw.execute("ROLLBACK TO operation")  # type: ignore[union-attr]
                            raw.execute("RELEASE operation")  # type: ignore[union-attr]
                            results.append((fut, False, exc))
                            continue
                        raise
                    if raw is not None:
                        raw.execute("RELEASE operation")  # type: ignore[union-attr]
                    results.append((fut, True, value))
        except BaseException as exc:  # noqa: BLE001 - the whole group failed to commit
            for _fn, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        # Only after COMMIT returns do callers learn their write succeeded.
        for fut, ok, value in results:
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)  # type: ignore[arg-type]


# PostgreSQL refuses a connection past max_connections (or a database's or role's limit),
# SQLSTATE 53300, which psycopg does not report at connect time: matched on the message.
_FULL = ("too many clients", "too many connections")
_FULL_WAIT_S = 10.0


def _wait_for_a_free_slot(engine: Engine) -> None:
    """A connection PostgreSQL refuses because it is full is tried again for a while, as a
    pool checkout would wait, instead of failing the request: other clients (another
    replica, a batch job) may hold the slots for a moment."""

    @event.listens_for(engine, "do_connect")
    def connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        deadline = time.monotonic() + _FULL_WAIT_S
        pause = 0.02
        while True:
            try:
                return dialect.connect(*cargs, **cparams)
            except dialect.loaded_dbapi.OperationalError as exc:
                if not any(text in str(exc) for text in _FULL) or time.monotonic() + pause > deadline:
                    raise
                log.info("PostgreSQL has no free connection slot; trying again in %.2f s", pause)
                time.sleep(pause)
                pause = min(pause * 2, 0.5)


def _pg_options(statement_timeout_ms: int) -> str:
    """Session settings every PostgreSQL connection starts with."""
    # Random reads cost about what sequential ones do: Runyard's working set is small
    # and lives in PostgreSQL's cache (or on SSD). With the default of 4, the planner
    # read a page's child rows (``run_uuid = ANY(<255 ids>)``) by scanning the whole
    # table: 12 ms for 255 runs' latest metrics, against 2 with an index.
    options = "-c random_page_cost=1.1"
    # A statement prepared on the server (the key lookups of store/sql/prepared.py at their
    # first use; psycopg's own after a few) is planned once, generically, rather than five
    # more times for its values first. Searches are never prepared: they are planned for
    # their values every time (see StatementCache).
    options += " -c plan_cache_mode=force_generic_plan"
    if statement_timeout_ms:
        options += f" -c statement_timeout={statement_timeout_ms}"
    return options


def _is_retryable(exc: DBAPIError) -> bool:
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in {"40001", "40P01"}  # serialization_failure, deadlock_detected


class Database:
    """Connections for one metadata database. Build one per app; close it on shutdown."""

    def __init__(self, url: str, *, pool_size: int = 16, statement_timeout_ms: int = 30000) -> None:
        self.url = normalize_url(url)
        self.sqlite = is_sqlite(self.url)
        self._writer: _GroupWriter | None = None
        self.checkpointer: Checkpointer | None = None  # SQLite files: the WAL's, see checkpoint.py
        # PostgreSQL: fresh planner statistics while tables fill up (started by the first write).
        self._fresh_stats: FreshStats | None = None
        self._fresh_stats_lock = threading.Lock()
        if self.sqlite:
            self.engine = _make_sqlite_engine(self.url, pool_size, "BEGIN")
            self._write_engine = _make_sqlite_engine(self.url, 1, "BEGIN IMMEDIATE", writer=True)
            self._writer = _GroupWriter(self._write_engine)
            path = _sqlite_file(self.url)
            self.checkpointer = Checkpointer(path) if path else None
            self._start_checkpointer()
        else:
            self.engine = create_engine(
                self.url,
                # pool_size is the most connections this process opens: replicas x pool_size
                # must fit PostgreSQL's max_connections beside its other clients. Requests past
                # it wait for a pooled connection; opening more only slows PostgreSQL down.
                pool_size=pool_size,
                max_overflow=0,
                # Last in, first out: a quiet server keeps reusing the one or two connections
                # it needs, whose backends have the catalog cached and the statements
                # prepared; first in, first out would spread requests over every connection
                # a past burst opened, each of them cold (a filtered search: 30 -> 18 ms).
                pool_use_lifo=True,
                connect_args={"options": _pg_options(statement_timeout_ms)},
            )
            liveness.install(self.engine)  # instead of pool_pre_ping's round trip per request
            _wait_for_a_free_slot(self.engine)
            self._write_engine = self.engine
        # One snapshot per read block (see read()); the pool's connections only change mode.
        self._read_engine = (
            self.engine
            if self.sqlite
            else self.engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        )
        self._autocommit_engine = (
            None if self.sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        # PostgreSQL: writes of one kind that arrive together become one statement.
        self._groups = None if self.sqlite else Groups(self.write_statement)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def start(self) -> None:
        if self.sqlite and self._writer is None:
            self._writer = _GroupWriter(self._write_engine)
            self._start_checkpointer()

    def _start_checkpointer(self) -> None:
        if self.checkpointer is not None:
            # The file must exist (in WAL mode) before the checkpointer opens it.
            with self.engine.connect():
                pass
            self.checkpointer.start()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads, in one read-only transaction with one snapshot for the
        whole block: a page of runs and its params, tags and metrics are read as of the same
        instant, as is a whole export. SQLite's WAL gives that to every transaction;
        PostgreSQL needs REPEATABLE READ (its default, READ COMMITTED, takes a new snapshot
        per statement). A read-only transaction there never fails to serialize."""
        with self._read_engine.connect() as conn, conn.begin():
            yield conn

    def write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(conn)`` in a write transaction and return its result once committed."""
        if self.sqlite:
            self.start()  # only does something after close()
            assert self._writer is not None
            return self._writer.submit(fn)
        return self._retrying(self._write_engine.begin, fn)

    def write_statement(self, fn: Callable[[Connection], T]) -> T:
        """Like :meth:`write`, for an ``fn`` that runs exactly one statement.

        On PostgreSQL the statement runs in autocommit mode, where it is a transaction of its
        own: one round trip instead of three (BEGIN, the statement, COMMIT). SQLite has no
        round trips to save; there it is a plain :meth:`write`.
        """
        if self._autocommit_engine is None:
            return self.write(fn)
        return self._retrying(self._autocommit_engine.connect, fn)

    def write_grouped(self, kind: GroupedWrite[I, R], item: I) -> R:
        """Write ``item`` with the items of its kind that other threads write meanwhile, in
        one statement on PostgreSQL (see grouped.py); its own result, once committed.
        SQLite's group commit already puts concurrent writes in one transaction."""
        if self._groups is None:
            return self.write(lambda conn: kind.run(conn, [item])[0])
        return self._groups.submit(kind, item)

    def _retrying(self, connect: Callable[[], Any], fn: Callable[[Connection], T]) -> T:
        self._start_fresh_stats()
        delay = 0.01
        for attempt in range(_PG_RETRIES):
            try:
                with connect() as conn:
                    return fn(conn)
            except (OperationalError, DBAPIError) as exc:
                if attempt == _PG_RETRIES - 1 or not _is_retryable(exc):
                    raise
                log.info("retrying write after %s (attempt %d)", type(exc.orig).__name__, attempt + 1)
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def _start_fresh_stats(self) -> None:
        if self._fresh_stats is None:
            with self._fresh_stats_lock:
                if self._fresh_stats is None:
                    self._fresh_stats = FreshStats(self.engine)
                    self._fresh_stats.start()

    def close(self) -> None:
        if self._fresh_stats is not None:
            self._fresh_stats.close()
            self._fresh_stats = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.engine.dispose()
        if self._write_engine is not self.engine:
            self._write_engine.dispose()
        if self.checkpointer is not None:
            self.checkpointer.close()  # after every connection is gone: the log can be emptied


__all__ = ["Database", "is_sqlite", "normalize_url", "redact_url"]
