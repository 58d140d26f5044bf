"""latest_metrics follows MLflow's rule under any write order, alone or with concurrent writers.

The rule: the greatest step wins, then the greatest timestamp, then the greatest value (a
NaN counts as 0); an equal (step, timestamp, value) keeps the stored row.
"""

from __future__ import annotations

import math
import random
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from runyard.store.sql import metrics as metrics_sql
from runyard.store.sql.engine import Database
from runyard.store.sql.schema import latest_metrics
from runyard.store.sql.schema import metrics as history

WS = 1


def log(db: Database, run_id: str, points: list[tuple[str, float, int, int]]) -> None:
    """points are (key, value, timestamp, step), as a client sends them."""
    rows = []
    for key, value, ts, step in points:
        stored, is_nan = metrics_sql.sanitize(value)
        rows.append((key, stored, ts, step, is_nan))
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
