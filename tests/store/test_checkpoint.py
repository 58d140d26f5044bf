"""SQLite's write-ahead log is checkpointed by a background thread, never by a request."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from runyard.store.sql.engine import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    assert database.checkpointer is not None
    database.checkpointer.interval_s = 0.05
    database.write(lambda conn: conn.execute(text("CREATE TABLE blobs (b TEXT)")))
    try:
        yield database
    finally:
        database.close()


def _fill(db: Database, pages: int) -> None:
    # ~4 KiB per row: one page each, well past the 1,000 pages that trigger a checkpoint.
    for _ in range(pages // 100):
        rows = [{"b": "x" * 4000} for _ in range(100)]
        db.write(lambda conn, rows=rows: conn.execute(text("INSERT INTO blobs (b) VALUES (:b)"), rows))


def test_commits_never_checkpoint_themselves(db: Database) -> None:
    pragma = db.write(lambda conn: conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar())
    assert pragma == 0


def test_the_background_thread_copies_the_log_back(db: Database) -> None:
    _fill(db, 1500)
    deadline = time.monotonic() + 10
    checkpointer = db.checkpointer
    assert checkpointer is not None
    while time.monotonic() < deadline:
        last = checkpointer.last
        if last is not None and last[1] >= 1500 and last[2] == last[1]:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"no complete checkpoint within 10 s: {checkpointer.last}")
    with db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM blobs")).scalar_one() == 1500


def test_closing_leaves_an_empty_log(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'closed.db'}")
    db.write(lambda conn: conn.execute(text("CREATE TABLE t (v INTEGER)")))
    db.write(lambda conn: conn.execute(text("INSERT INTO t (v) VALUES (1)")))
    db.close()
    wal = tmp_path / "closed.db-wal"
    assert not wal.exists() or os.path.getsize(wal) == 0
    reopened = Database(f"sqlite:///{tmp_path / 'closed.db'}")
    try:
        with reopened.read() as conn:
            assert conn.execute(text("SELECT v FROM t")).scalar_one() == 1
    finally:
        reopened.close()
