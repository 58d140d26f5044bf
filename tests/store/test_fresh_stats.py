"""PostgreSQL: tables that just filled up get planner statistics within seconds, not after
autovacuum's minute (searches on fresh data would otherwise be planned for empty tables)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from runyard.store.sql import migrate
from runyard.store.sql.engine import Database
from tests.support.pg import postgres_database

pytestmark = pytest.mark.postgres


def _last_analyze(db: Database, table: str):  # noqa: ANN202
    with db.engine.connect() as conn:
        return conn.execute(
            text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = :t"), {"t": table}
        ).scalar()


def test_a_burst_of_writes_gets_analyzed_within_seconds():
    with postgres_database("runyard_stats") as url:
        db = Database(url)
        try:
            migrate.upgrade(db)
            assert _last_analyze(db, "params") is None

            def burst(conn) -> None:  # noqa: ANN001
                rows = [
                    {"workspace_id": 1, "run_uuid": f"{i:032x}", "key": "alpha", "value": str(i % 10)}
                    for i in range(2000)
                ]
                conn.execute(text("INSERT INTO params VALUES (:workspace_id, :run_uuid, :key, :value)"), rows)

            db.write(burst)
            deadline = time.monotonic() + 10
            while _last_analyze(db, "params") is None and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _last_analyze(db, "params") is not None, "params was not analyzed"
            assert _last_analyze(db, "experiments") is None, "an unchanged table was analyzed"
        finally:
            db.close()
