"""Chart-sized metric histories (services/metric_charts.py) on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from runyard.entities import Workspace
from runyard.errors import InvalidParameter, NotFound
from runyard.services.metric_charts import MetricChartService
from runyard.store.sql import metrics as metrics_sql
from runyard.store.sql import runs as runs_sql
from runyard.store.sql.engine import Database

WS = Workspace(1, "charts")
OTHER = Workspace(2, "elsewhere")


def _run(db: Database, rows: list[tuple[str, float, int, int]], ws: Workspace = WS) -> str:
    """A run holding ``rows`` of (key, value, timestamp, step)."""
    rid = uuid.uuid4().hex
    info = runs_sql.RunInfo(rid, 1, "r", "u", "FINISHED", 1, 2, None, "active")

    def tx(conn) -> None:  # noqa: ANN001
        runs_sql.insert_run(conn, ws.id, info, {})
        by_key: dict[str, list[metrics_sql.MetricRow]] = {}
        for key, value, ts, step in rows:
            stored, is_nan = metrics_sql.sanitize(value)
            by_key.setdefault(key, []).append((key, stored, ts, step, is_nan))
        for key_rows in by_key.values():
            metrics_sql.write(conn, ws.id, rid, key_rows)

    db.write(tx)
    return rid


def test_a_short_history_comes_whole_with_nan_as_none(db):
    rid = _run(db, [("loss", 1.0, 10, 0), ("loss", float("nan"), 20, 1), ("loss", 0.5, 30, 2)])
    [s] = MetricChartService(db).series(WS, [rid], ["loss"], 100)
    assert (s.total, s.band) == (3, [])
    assert s.points == [(0, 10, 1.0), (1, 20, None), (2, 30, 0.5)]


def test_a_long_history_is_bucketed_by_step_with_a_min_max_band(db):
    rid = _run(db, [("loss", float(s % 10), 1000 + s, s) for s in range(1000)] + [("acc", 1.0, 1, 0)])
    [s] = MetricChartService(db).series(WS, [rid], ["loss"], 100)
    assert (s.total, len(s.points), len(s.band)) == (1000, 100, 100)
    assert s.points[0][0] == 0 and s.points[-1][0] == 999  # the line spans the whole history
    assert s.points[1] == (14.5, 1014.5, 4.5) and s.band[1] == (14.5, 0.0, 9.0)


def test_one_step_histories_are_bucketed_by_time(db):
    rid = _run(db, [("gpu", float(t), 10 * t, 0) for t in range(500)])
    [s] = MetricChartService(db).series(WS, [rid], ["gpu"], 50)
    assert len(s.points) == 50 and s.points[-1][1] == 4990
    assert s.band[0] == (0, 0.0, 9.0)


def test_many_runs_and_keys_keys_first_and_missing_metrics_skipped(db):
    a = _run(db, [("x", 1.0, 1, 0), ("y", 2.0, 1, 0)])
    b = _run(db, [("x", 3.0, 1, 0)])
    found = MetricChartService(db).series(WS, [a, b], ["x", "y"], 10)
    assert [(s.key, s.run_id) for s in found] == [("x", a), ("x", b), ("y", a)]


def test_refusals(db):
    svc = MetricChartService(db)
    mine = _run(db, [("x", 1.0, 1, 0)])
    theirs = _run(db, [("x", 1.0, 1, 0)], OTHER)
    with pytest.raises(NotFound):
        svc.series(WS, [mine, theirs], ["x"], 10)  # another workspace's run is not there
    with pytest.raises(InvalidParameter, match="1 to 20 runs"):
        svc.series(WS, [uuid.uuid4().hex for _ in range(21)], ["x"], 10)
    with pytest.raises(InvalidParameter, match="metric keys"):
        svc.series(WS, [mine], [], 10)
    with pytest.raises(InvalidParameter, match="from 2 to 2500"):
        svc.series(WS, [mine], ["x"], 1)
