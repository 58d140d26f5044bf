"""Database connections: what a read block sees, and pooled connections the server dropped."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from runyard.store.sql import liveness
from runyard.store.sql.engine import Database
from runyard.store.sql.migrate import ensure_schema
from tests.support.pg import postgres_database


@pytest.fixture(scope="module")
def probe(db: Database) -> str:
    db.write(lambda conn: conn.execute(text("CREATE TABLE engine_probe (v INTEGER)")))
    return "engine_probe"


@pytest.fixture(scope="module")
def pg() -> Iterator[Database]:
    """PostgreSQL only: what SQLite has no counterpart for (read-only mode, a server to lose)."""
    with postgres_database("runyard_engine_pg") as url:
        database = Database(url)
        ensure_schema(database)
        try:
            yield database
        finally:
            database.close()


def _count(conn, table: str) -> int:  # noqa: ANN001
    return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_a_read_block_sees_one_snapshot_while_others_commit(db: Database, probe: str) -> None:
    # A search page reads its runs, then their params, tags and metrics: all as of one instant.
    with db.read() as conn:
        before = _count(conn, probe)
        db.write(lambda w: w.execute(text(f"INSERT INTO {probe} (v) VALUES (1)")))
        assert _count(conn, probe) == before
    with db.read() as conn:
        assert _count(conn, probe) == before + 1


@pytest.mark.postgres
def test_writing_in_a_read_block_is_refused_on_postgres(pg: Database) -> None:
    with pytest.raises(DBAPIError, match="read-only transaction"), pg.read() as conn:
        conn.execute(text("INSERT INTO workspaces (name) VALUES ('nope')"))


def _backend_pid(db: Database) -> int:
    with db.read() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(db: Database, pid: int) -> None:
    other = create_engine(db.url)
    try:
        with other.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        other.dispose()


@pytest.mark.postgres
def test_a_pooled_connection_the_server_closed_is_replaced_unnoticed(pg: Database) -> None:
    db = pg
    pid = _backend_pid(db)
    _terminate(db, pid)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the FATAL message reaches the idle socket quickly
        time.sleep(0.05)
        if _backend_pid(db) != pid:
            break
    # Reads and writes go on on a fresh connection, without an error reaching the caller.
    assert _backend_pid(db) != pid
    assert db.write(lambda conn: conn.execute(text("SELECT 1")).scalar_one()) == 1


@pytest.mark.postgres
def test_a_connection_idle_for_long_is_pinged_before_use(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = pg
    pings = []
    real_ping = db.engine.dialect.do_ping
    monkeypatch.setattr(db.engine.dialect, "do_ping", lambda c: pings.append(1) or real_ping(c))
    _backend_pid(db)
    assert pings == []  # just used: checked locally, no round trip
    monkeypatch.setattr(liveness, "PING_AFTER_S", 0.0)
    time.sleep(0.01)
    _backend_pid(db)
    assert pings == [1]


def test_a_single_statement_write_commits_on_its_own(db: Database, probe: str) -> None:
    inserted = db.write_statement(
        lambda conn: conn.execute(text(f"INSERT INTO {probe} (v) VALUES (7) RETURNING v")).scalar_one()
    )
    assert inserted == 7
    with db.read() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {probe} WHERE v = 7")).scalar_one() == 1


def test_after_a_single_statement_write_the_pool_is_transactional_again(db: Database, probe: str) -> None:
    # The autocommit mode of write_statement must not stay on the pooled connection: a
    # later write that fails half-way still leaves nothing behind.
    db.write_statement(lambda conn: conn.execute(text(f"INSERT INTO {probe} (v) VALUES (8)")))

    def half_then_fail(conn) -> None:  # noqa: ANN001
        conn.execute(text(f"INSERT INTO {probe} (v) VALUES (9)"))
        raise RuntimeError("the second half failed")

    for _ in range(3):  # whichever pooled connection it gets
        with pytest.raises(RuntimeError):
            db.write(half_then_fail)
    with db.read() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {probe} WHERE v = 9")).scalar_one() == 0


def test_writes_committed_together_fail_alone(db: Database, probe: str) -> None:
    # On SQLite, writes queued while another commits go in together, in one transaction:
    # one that fails half-way takes back only its own rows, and only its caller hears of it.
    if not db.sqlite:
        pytest.skip("PostgreSQL commits every write on its own")
    leading, release = threading.Event(), threading.Event()

    def hold(conn) -> None:  # noqa: ANN001
        leading.set()
        release.wait(10)

    def insert(v: int, fail: bool = False):  # noqa: ANN202
        def fn(conn) -> int:  # noqa: ANN001
            conn.execute(text(f"INSERT INTO {probe} (v) VALUES ({v})"))
            if fail:
                raise ValueError(f"write {v} failed half-way")
            return v

        return fn

    outcomes: dict[int, object] = {}

    def submit(v: int, fail: bool) -> None:
        try:
            outcomes[v] = db.write(insert(v, fail))
        except ValueError as exc:
            outcomes[v] = str(exc)

    leader = threading.Thread(target=db.write, args=(hold,))
    leader.start()
    assert leading.wait(10)
    queued = [threading.Thread(target=submit, args=(v, v == 102)) for v in (101, 102, 103)]
    for t in queued:
        t.start()
    time.sleep(0.2)  # all three wait behind the leader
    release.set()
    for t in [leader, *queued]:
        t.join(10)
    assert outcomes == {101: 101, 102: "write 102 failed half-way", 103: 103}
    with db.read() as conn:
        stored = conn.execute(text(f"SELECT v FROM {probe} WHERE v > 100 ORDER BY v")).scalars().all()
    assert stored == [101, 103]


def test_a_quiet_server_reuses_the_connection_it_used_last(db: Database) -> None:
    # After a burst opened several connections, the next request gets the warmest one (its
    # caches and prepared statements), not the one that has been idle the longest.
    with db.read() as first, db.read() as second:
        first_id, second_id = id(first.connection.dbapi_connection), id(second.connection.dbapi_connection)
    # ``first`` went back to the pool last (blocks exit inner first)...
    with db.read() as conn:
        assert id(conn.connection.dbapi_connection) == first_id
    with db.read() as a, db.read() as b:
        assert {id(a.connection.dbapi_connection), id(b.connection.dbapi_connection)} == {first_id, second_id}


@pytest.mark.postgres
def test_on_postgres_a_server_opens_no_more_connections_than_its_pool_size() -> None:
    # Several replicas share one PostgreSQL: each must stay within its share of
    # max_connections however many requests arrive at once; the rest wait for a connection.
    with postgres_database("runyard_engine_cap") as url:
        db = Database(url, pool_size=2)
        backends: set[int] = set()

        def hold() -> None:
            with db.read() as conn:
                backends.add(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
                time.sleep(0.2)

        try:
            threads = [threading.Thread(target=hold) for _ in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            db.close()
    assert len(backends) == 2


@pytest.mark.postgres
def test_on_postgres_a_full_server_is_waited_for_not_an_error() -> None:
    # PostgreSQL refuses connections past a limit ("too many clients"); another client
    # holding the last slot for a moment must not fail this server's request.
    with postgres_database("runyard_engine_full") as url:
        role = "runyard_test_limited"  # the limit does not apply to superusers
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            name = conn.execute(text("SELECT current_database()")).scalar_one()
            exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
            if not exists:
                conn.execute(text(f"CREATE ROLE {role} LOGIN"))
            conn.execute(text(f'ALTER DATABASE "{name}" CONNECTION LIMIT 1'))
        admin.dispose()
        limited = make_url(url).set(username=role).render_as_string(hide_password=False)
        other = psycopg.connect(limited.replace("postgresql+psycopg://", "postgresql://"))
        threading.Timer(0.5, other.close).start()
        db = Database(limited, pool_size=1)
        try:
            started = time.monotonic()
            with db.read() as conn:
                assert conn.execute(text("SELECT 1")).scalar_one() == 1
            assert time.monotonic() - started >= 0.4  # it waited for the other client to leave
        finally:
            db.close()
