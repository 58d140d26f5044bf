"""latest_metrics follows MLflow's rule under any write order, alone or with concurrent writers.

The rule: the greatest step wins, then the greatest timestamp, then the greatest value (a
NaN counts as 0); an equal (step, timestamp, value) keeps the stored row.
"""

from __future__ import annotations

import math
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from runyard.entities import RunState
from runyard.store.sql import metrics as metrics_sql
from runyard.store.sql import runs as runs_sql
from runyard.store.sql.engine import Database
from runyard.store.sql.grouped import GroupedWrite
from runyard.store.sql.schema import latest_metrics
from runyard.store.sql.schema import metrics as history

WS = 1


def stored(points: list[tuple[str, float, int, int]]) -> list[metrics_sql.MetricRow]:
    """points are (key, value, timestamp, step), as a client sends them."""
    rows = []
    for key, value, ts, step in points:
        value, is_nan = metrics_sql.sanitize(value)
        rows.append((key, value, ts, step, is_nan))
    return rows


def log(db: Database, run_id: str, points: list[tuple[str, float, int, int]]) -> None:
    rows = stored(points)
    db.write(lambda conn: metrics_sql.write(conn, WS, run_id, rows))


def latest(db: Database, run_id: str) -> dict[str, tuple[float, int, int]]:
    lm = latest_metrics.c
    with db.read() as conn:
        rows = conn.execute(
            select(lm.key, lm.value, lm.timestamp, lm.step, lm.is_nan).where(lm.run_uuid == run_id)
        )
        return {k: (math.nan if nan else v, ts, step) for k, v, ts, step, nan in rows}


def mlflow_latest(points: list[tuple[str, float, int, int]]) -> dict[str, tuple[float, int, int]]:
    """The reference: MLflow's comparison, applied in the order the points were logged."""
    best: dict[str, tuple[float, int, int]] = {}
    for key, value, ts, step in points:
        cur = best.get(key)
        rank = (step, ts, 0.0 if math.isnan(value) else value)
        if cur is None or rank > (cur[2], cur[1], 0.0 if math.isnan(cur[0]) else cur[0]):
            best[key] = (value, ts, step)
    return best


def test_step_beats_timestamp_beats_value(db):
    run = uuid.uuid4().hex
    log(db, run, [("m", 5.0, 100, 3), ("m", 1.0, 999, 2), ("m", 4.0, 100, 3)])
    assert latest(db, run) == {"m": (5.0, 100, 3)}
    log(db, run, [("m", 9.0, 100, 2)])  # an older step never wins
    assert latest(db, run) == {"m": (5.0, 100, 3)}
    log(db, run, [("m", 6.0, 100, 3)])  # same step and time, greater value
    assert latest(db, run) == {"m": (6.0, 100, 3)}
    log(db, run, [("m", 0.0, 101, 3)])  # same step, later time
    assert latest(db, run) == {"m": (0.0, 101, 3)}


def test_nan_counts_as_zero_and_ties_keep_the_stored_row(db):
    run = uuid.uuid4().hex
    log(db, run, [("m", math.nan, 10, 1), ("m", 0.0, 10, 1)])  # a tie in one batch: the first stays
    assert math.isnan(latest(db, run)["m"][0])
    log(db, run, [("m", 0.0, 10, 1)])  # and across requests: the stored NaN stays
    value, _, _ = latest(db, run)["m"]
    assert math.isnan(value)
    log(db, run, [("m", -1.0, 10, 1)])
    assert math.isnan(latest(db, run)["m"][0])
    log(db, run, [("m", 0.5, 10, 1)])
    assert latest(db, run) == {"m": (0.5, 10, 1)}
    log(db, run, [("inf", math.inf, 1, 0), ("inf", 1e308, 1, 0)])
    assert latest(db, run)["inf"] == (math.inf, 1, 0)


def test_concurrent_writers_agree_with_the_reference(db):
    run = uuid.uuid4().hex
    rng = random.Random(7)
    keys = [f"k{i}" for i in range(40)]
    batches = []
    for _ in range(64):
        batch = []
        for key in rng.sample(keys, 25):
            value = rng.choice([math.nan, rng.uniform(-5, 5), float(rng.randint(0, 2))])
            batch.append((key, value, rng.randint(0, 5), rng.randint(0, 6)))
        batches.append(batch)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda b: log(db, run, b), batches))
    expected = mlflow_latest([p for b in batches for p in b])
    got = latest(db, run)
    # Ties between different rows depend on arrival order; compare the winning rank only.
    rank = lambda d: {k: (s, ts, 0.0 if math.isnan(v) else v) for k, (v, ts, s) in d.items()}  # noqa: E731
    assert rank(got) == rank(expected)
    with db.read() as conn:
        count = len(conn.execute(select(history.c.key).where(history.c.run_uuid == run)).all())
    assert count == sum(len(set(b)) for b in batches)


def _new_run(db: Database, stage: str) -> str:
    rid = uuid.uuid4().hex
    info = runs_sql.RunInfo(rid, 7, "r", "u", "RUNNING", 1, None, None, stage)
    db.write(lambda conn: runs_sql.insert_run(conn, WS, info, {}))
    return rid


def _write_if_active(db: Database, run_id: str, points: list[tuple[str, float, int, int]]) -> RunState | None:
    rows = stored(points)
    return db.write(lambda conn: runs_sql.METRICS_IF_ACTIVE.run(conn, [(WS, run_id, rows)])[0])


def _history_count(db: Database, run_id: str) -> int:
    with db.read() as conn:
        return len(conn.execute(select(history.c.key).where(history.c.run_uuid == run_id)).all())


def test_a_checked_write_logs_to_an_active_run_and_returns_its_state(db):
    run = _new_run(db, "active")
    state = _write_if_active(db, run, [("m", 1.0, 10, 0), ("m", 2.0, 20, 1), ("n", math.nan, 5, 0)])
    assert (state.experiment_id, state.lifecycle_stage) == (7, "active")
    assert _history_count(db, run) == 3
    got = latest(db, run)
    assert got["m"] == (2.0, 20, 1) and math.isnan(got["n"][0])


def test_a_checked_write_to_a_deleted_or_unknown_run_writes_nothing(db):
    deleted = _new_run(db, "deleted")
    state = _write_if_active(db, deleted, [("m", 1.0, 10, 0)])
    assert state.lifecycle_stage == "deleted"
    assert _history_count(db, deleted) == 0 and latest(db, deleted) == {}
    unknown = uuid.uuid4().hex
    assert _write_if_active(db, unknown, [("m", 1.0, 10, 0)]) is None
    assert _history_count(db, unknown) == 0 and latest(db, unknown) == {}


def test_checked_writes_that_arrive_together_each_get_their_own_answer(db):
    # Metrics-only log-batches queued while one is being written go in together (one
    # statement on PostgreSQL): each caller still gets its own run's state, and only the
    # active runs' points are kept, two batches to the same run included.
    active = [_new_run(db, "active") for _ in range(4)]
    deleted, unknown = _new_run(db, "deleted"), uuid.uuid4().hex
    targets = [*active, active[0], deleted, unknown]
    group_sizes: list[int] = []
    first_started, release = threading.Event(), threading.Event()

    def counted(conn, items):  # noqa: ANN001, ANN202
        group_sizes.append(len(items))
        if len(group_sizes) == 1:
            first_started.set()
            release.wait(10)  # the others queue up meanwhile
        return runs_sql.METRICS_IF_ACTIVE.run(conn, items)

    kind = GroupedWrite("counted metrics", counted)

    queued = threading.Semaphore(0)

    def log_to(i: int) -> RunState | None:
        points = [("m", float(i), 100 + i, i), (f"k{i}", 1.0, 1, 0)]
        queued.release()
        return db.write_grouped(kind, (WS, targets[i], stored(points)))

    with ThreadPoolExecutor(len(targets)) as pool:
        first = pool.submit(log_to, 0)
        assert first_started.wait(10)
        rest = [pool.submit(log_to, i) for i in range(1, len(targets))]
        for _ in targets:
            assert queued.acquire(timeout=10)
        time.sleep(0.2)  # from calling write_grouped to waiting in its queue
        release.set()
        states = [first.result(10), *(f.result(10) for f in rest)]

    assert [s and s.lifecycle_stage for s in states] == ["active"] * 5 + ["deleted", None]
    if db.dialect == "postgresql":
        assert group_sizes[0] == 1 and max(group_sizes[1:]) > 1
    assert latest(db, active[0]) == {"m": (4.0, 104, 4), "k0": (1.0, 1, 0), "k4": (1.0, 1, 0)}
    assert latest(db, active[2]) == {"m": (2.0, 102, 2), "k2": (1.0, 1, 0)}
    assert _history_count(db, active[0]) == 4 and _history_count(db, deleted) == 0
