"""PostgreSQL: tables that just filled up get planner statistics within seconds, not after
autovacuum's minute (searches on fresh data would otherwise be planned for empty tables)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from runyard.store.sql import migrate
from runyard.store.sql.engine import Database
from runyard.store.sql.fresh_stats import GROWTH_FLOOR, FreshStats
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


def test_a_table_is_analyzed_again_once_it_outgrew_its_statistics_not_on_every_change():
    # Steady logging must not pay for an ANALYZE every few seconds: statistics are
    # refreshed when a table holds twice the rows they describe, and not before.
    with postgres_database("runyard_stats_growth") as url:
        db = Database(url)
        try:
            migrate.upgrade(db)
            writer = create_engine(url)
            with writer.begin() as conn:  # no Database.write: its own FreshStats would race ours
                conn.execute(text("ALTER TABLE params SET (autovacuum_enabled = false)"))
            added = 0

            def add(n: int) -> None:
                nonlocal added
                rows = [
                    {"w": 1, "r": f"{i:032x}", "k": "alpha", "v": "x"} for i in range(added, added + n)
                ]
                with writer.begin() as conn:
                    conn.execute(text("INSERT INTO params VALUES (:w, :r, :k, :v)"), rows)
                    # Table statistics reach pg_stat_user_tables at most once a second otherwise.
                    conn.execute(text("SELECT pg_stat_force_next_flush()"))
                added += n

            stats = FreshStats(db.engine)
            add(GROWTH_FLOOR // 2)
            assert "params" not in stats.check_once(), "a small table was analyzed"
            add(GROWTH_FLOOR)
            assert "params" in stats.check_once(), "a table that filled up was not analyzed"
            add(added // 2)  # half as many rows again: the statistics still fit well enough
            assert "params" not in stats.check_once()
            add(added)  # twice the rows the statistics describe (plus the floor)
            assert "params" in stats.check_once()
            assert stats.check_once() == []
            writer.dispose()
        finally:
            db.close()
