"""SQL for metric history and the ``latest_metrics`` summary of each run.

The two batch writes are the hottest statements in Runyard (a 1,000-metric log-batch), so
they are spelled per dialect: on PostgreSQL one statement moves the whole batch, history and
latest values both, as INSERT ... SELECT FROM unnest(arrays); on SQLite a prepared
statement runs through the driver's executemany loop. Both are several times faster than
SQLAlchemy's generic multi-row paths (which compile a fresh statement per batch size).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Select,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    tuple_,
)

from runyard.store.sql.dialect import any_of, fetch_raw, pg_array_text, pg_number_array_text
from runyard.store.sql.prepared import Prepared, Row, rows_text, run_text
from runyard.store.sql.schema import latest_metrics, metrics

# (key, value, timestamp, step, is_nan): value is already sanitised (NaN stored as 0).
MetricRow = tuple[str, float, int, int, bool]

_COLS = "workspace_id, run_uuid, key, value, timestamp, step, is_nan"
_NEWER = (
    "(excluded.step, excluded.timestamp, excluded.value) > "
    "(latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)"
)
# MLflow's rule for the latest value: greater step wins, then greater timestamp, then greater
# value (NaN counts as 0); an equal triple keeps the stored row.
_UPSERT_TAIL = (
    " ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value, "
    "timestamp = excluded.timestamp, step = excluded.step, is_nan = excluded.is_nan "
    f"WHERE {_NEWER}"
)


def _pg_rows(prefix: str) -> str:
    return (
        "SELECT CAST(%(wid)s AS BIGINT), CAST(%(run_id)s AS VARCHAR), * FROM unnest("
        f"CAST(%({prefix}keys)s AS VARCHAR[]), CAST(%({prefix}vals)s AS DOUBLE PRECISION[]), "
        f"CAST(%({prefix}ts)s AS BIGINT[]), CAST(%({prefix}steps)s AS BIGINT[]), "
        f"CAST(%({prefix}nans)s AS BOOLEAN[]))"
    )


# History and latest values in ONE statement (a data-modifying CTE): one round trip per batch,
# run on the driver's cursor (psycopg prepares it on the server after a few uses).
_PG_WRITE = (
    f"WITH history AS (INSERT INTO metrics ({_COLS}) {_pg_rows('h_')}) "
    f"INSERT INTO latest_metrics ({_COLS}) {_pg_rows('l_')}{_UPSERT_TAIL}"
)
# The same for a single run, preceded by its check: the points go in only if the run is
# active, and its state comes back either way. A lone batch takes this one: checking the run
# once, rather than once per point, made a 1,000-metric batch 5-9 % cheaper.
_ACTIVE = " WHERE EXISTS (SELECT 1 FROM run WHERE lifecycle_stage = 'active')"
_PG_WRITE_IF_ACTIVE = (
    "WITH run AS (SELECT experiment_id, lifecycle_stage FROM runs "
    "WHERE workspace_id = %(wid)s AND run_uuid = %(run_id)s), "
    f"history AS (INSERT INTO metrics ({_COLS}) {_pg_rows('h_')}{_ACTIVE}), "
    f"latest AS (INSERT INTO latest_metrics ({_COLS}) {_pg_rows('l_')}{_ACTIVE}{_UPSERT_TAIL}) "
    "SELECT experiment_id, lifecycle_stage FROM run"
)


# Metrics-only log-batches of any number of runs (of any workspaces) in ONE statement, run
# by grouped.py for the batches that arrive together: each point goes in only if its run is
# active, and every run's state comes back either way. The runs are looked up one by one
# (LATERAL), by key, whatever the plan thinks of the arrays' length; latest values are
# upserted in (run, key) order, the order every writer locks them in.
def _pg_points(prefix: str) -> str:
    return (
        f"SELECT p.* FROM unnest(CAST(%({prefix}wids)s AS BIGINT[]), CAST(%({prefix}rids)s AS VARCHAR[]), "
        f"CAST(%({prefix}keys)s AS VARCHAR[]), CAST(%({prefix}vals)s AS DOUBLE PRECISION[]), "
        f"CAST(%({prefix}ts)s AS BIGINT[]), CAST(%({prefix}steps)s AS BIGINT[]), "
        f"CAST(%({prefix}nans)s AS BOOLEAN[])) AS p(wid, rid, key, value, ts, step, nan) "
        "WHERE EXISTS (SELECT 1 FROM run WHERE run.workspace_id = p.wid AND run.run_uuid = p.rid "
        "AND run.lifecycle_stage = 'active')"
    )


_PG_WRITE_MANY_IF_ACTIVE = (
    "WITH run AS (SELECT r.* FROM unnest(CAST(%(t_wids)s AS BIGINT[]), CAST(%(t_rids)s AS VARCHAR[])) "
    "AS t(wid, rid) CROSS JOIN LATERAL (SELECT workspace_id, run_uuid, experiment_id, lifecycle_stage "
    "FROM runs WHERE workspace_id = t.wid AND run_uuid = t.rid) AS r), "
    f"history AS (INSERT INTO metrics ({_COLS}) {_pg_points('h_')}), "
    f"latest AS (INSERT INTO latest_metrics ({_COLS}) {_pg_points('l_')} "
    f"ORDER BY p.rid, p.key{_UPSERT_TAIL}) "
    "SELECT workspace_id, run_uuid, experiment_id, lifecycle_stage FROM run"
)
_LITE_HISTORY = f"INSERT INTO metrics ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
_LITE_LATEST = f"INSERT INTO latest_metrics ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?){_UPSERT_TAIL}"


def sanitize(value: float) -> tuple[float, bool]:
    """(stored value, is_nan). SQLite would store NaN as NULL, so NaN becomes 0 + is_nan."""
    if math.isnan(value):
        return 0.0, True
    return value, False


def latest_per_key(rows: Iterable[MetricRow]) -> list[MetricRow]:
    """The row of each key that the upsert should offer, by MLflow's rule, sorted by key.

    Sorting fixes the order in which concurrent transactions lock latest_metrics rows.
    """
    best: dict[str, MetricRow] = {}
    for row in rows:
        cur = best.get(row[0])
        if cur is None or (row[3], row[2], row[1]) > (cur[3], cur[2], cur[1]):
            best[row[0]] = row
    return [best[k] for k in sorted(best)]


def _columns(rows: Sequence[MetricRow]) -> tuple[str, ...]:
    """The rows' columns as PostgreSQL array literals: psycopg would dump each list element
    by element in Python, ten lists per batch."""
    return _arrays(*zip(*rows, strict=True))


def _arrays(keys: Sequence[str], *numbers: Sequence[float | int | bool]) -> tuple[str, ...]:
    """Array literals of a key column and the number columns that follow it."""
    return (pg_array_text(keys), *(pg_number_array_text(column) for column in numbers))


_NAMES = ("keys", "vals", "ts", "steps", "nans")


def _pg_args(wid: int, run_id: str, rows: Sequence[MetricRow], latest: Sequence[MetricRow]) -> dict[str, Any]:
    latest_cols = _columns(latest)
    # A batch with one point per key (the usual one) offers every point as the latest: the
    # history takes the same arrays (in key order, which no read depends on).
    history_cols = latest_cols if len(latest) == len(rows) else _columns(rows)
    return {
        "wid": wid,
        "run_id": run_id,
        **{"h_" + n: c for n, c in zip(_NAMES, history_cols, strict=True)},
        **{"l_" + n: c for n, c in zip(_NAMES, latest_cols, strict=True)},
    }


def write(conn: Connection, wid: int, run_id: str, rows: Sequence[MetricRow]) -> None:
    """Append ``rows`` to the history and fold them into latest_metrics (one statement each)."""
    if not rows:
        return
    latest = latest_per_key(rows)
    if conn.dialect.name == "postgresql":
        run_text(conn, _PG_WRITE, _pg_args(wid, run_id, rows, latest))
        return
    # Straight on the driver, in the caller's transaction: SQLAlchemy's execution layer
    # cost about as much CPU as SQLite's own work for a 10-metric batch.
    raw = conn.connection.driver_connection
    raw.executemany(_LITE_HISTORY, [(wid, run_id, *r) for r in rows])  # type: ignore[union-attr]
    raw.executemany(_LITE_LATEST, [(wid, run_id, *r) for r in latest])  # type: ignore[union-attr]


def write_if_active_pg(conn: Connection, wid: int, run_id: str, rows: Sequence[MetricRow]) -> Row | None:
    """PostgreSQL: :func:`write` only if the run is active, and the run's (experiment_id,
    lifecycle_stage), in one statement; None if there is no such run."""
    return run_text(conn, _PG_WRITE_IF_ACTIVE, _pg_args(wid, run_id, rows, latest_per_key(rows)))[1]


# A run as the many-runs statement names it: (workspace_id, run_uuid).
RunKey = tuple[int, str]


def write_many_if_active_pg(
    conn: Connection, items: Sequence[tuple[int, str, Sequence[MetricRow]]]
) -> dict[RunKey, tuple[int, str]]:
    """PostgreSQL: :func:`write` each item's points if its run is active, all in one
    statement; the (experiment_id, lifecycle_stage) of each run found, by (wid, run_id)."""
    history: list[tuple[Any, ...]] = []
    per_run: dict[RunKey, list[MetricRow]] = {}
    for wid, run_id, rows in items:
        history += [(wid, run_id, *r) for r in rows]
        per_run.setdefault((wid, run_id), []).extend(rows)
    latest = [(wid, run_id, *r) for (wid, run_id), rows in per_run.items() for r in latest_per_key(rows)]
    latest_cols = _run_columns(latest)
    # Batches with one point per key (the usual ones) offer every point as the latest: the
    # history takes the same arrays.
    history_cols = latest_cols if len(latest) == len(history) else _run_columns(history)
    args: dict[str, str] = {
        "t_wids": pg_number_array_text(k[0] for k in per_run),
        "t_rids": pg_array_text([k[1] for k in per_run]),
    }
    for prefix, cols in (("h_", history_cols), ("l_", latest_cols)):
        args.update({prefix + n: c for n, c in zip(_RUN_NAMES, cols, strict=True)})
    return {(r[0], r[1]): (r[2], r[3]) for r in rows_text(conn, _PG_WRITE_MANY_IF_ACTIVE, args)}


_RUN_NAMES = ("wids", "rids", *_NAMES)


def _run_columns(rows: Sequence[tuple[Any, ...]]) -> tuple[str, ...]:
    """(wid, run_id, key, value, timestamp, step, is_nan) rows as seven array literals."""
    if not rows:
        return ("{}",) * len(_RUN_NAMES)
    wids, rids, *point_columns = zip(*rows, strict=True)
    return (pg_number_array_text(wids), pg_array_text(rids), *_arrays(*point_columns))


# -- reads ---------------------------------------------------------------------------------


def _value(value: float, is_nan: bool) -> float:
    return math.nan if is_nan else value


_LATEST_FOR_RUNS = Prepared(
    lambda d: select(
        latest_metrics.c.run_uuid,
        latest_metrics.c.key,
        latest_metrics.c.value,
        latest_metrics.c.timestamp,
        latest_metrics.c.step,
        latest_metrics.c.is_nan,
    ).where(latest_metrics.c.workspace_id == bindparam("wid"), any_of(d, latest_metrics.c.run_uuid))
)


def latest_for_runs(conn: Connection, wid: int, run_ids: str) -> list[tuple[Any, ...]]:
    """(run_id, key, value, timestamp, step, is_nan) of the latest metrics of these runs;
    ``run_ids`` as :func:`~runyard.store.sql.dialect.ids_value` makes it (a page encodes its
    ids once for all its child queries)."""
    return _LATEST_FOR_RUNS.rows(conn, wid=wid, ids=run_ids)


# Where a history page ends: the stored (timestamp, step, value, is_nan) of its last point.
Position = tuple[int, int, float, bool]
# A point as stored: (value, timestamp, step, is_nan); value is 0 where is_nan is set. Rows
# come as the driver gives them (SQLite's is_nan is 0/1): a history is read point by point.
StoredPoint = tuple[float, int, int, bool | int]


def _history_stmt(wid: int, run_id: str, key: str, after: Position | None, limit: int | None) -> Select:
    """A metric's points in MLflow's order (timestamp, step, value) after ``after``.

    The order is ix_metrics_run_key_time's, so pages (keyset, not OFFSET) and whole histories
    come straight off the index. An identical point logged twice (a client repeating a
    log-batch whose answer it never got) is returned once, as MLflow stores it once; DISTINCT
    keeps the write path free of that check (duplicates sit next to each other in the index).
    """
    m = metrics.c
    order = (m.timestamp, m.step, m.value, m.is_nan)
    stmt = (
        select(m.value, m.timestamp, m.step, m.is_nan)
        .distinct()
        .where(m.workspace_id == wid, m.run_uuid == run_id, m.key == key)
        .order_by(*order)
    )
    if after is not None:
        stmt = stmt.where(
            tuple_(*order) > tuple_(*(literal(v, c.type) for v, c in zip(after, order, strict=True)))
        )
    return stmt if limit is None else stmt.limit(limit)


def history(
    conn: Connection, wid: int, run_id: str, key: str, after: Position | None, limit: int | None
) -> list[StoredPoint]:
    """One page of a metric's history as stored points (see :func:`_history_stmt`)."""
    return fetch_raw(conn, _history_stmt(wid, run_id, key, after, limit))  # type: ignore[return-value]


def history_chunks(
    conn: Connection, wid: int, run_id: str, key: str, after: Position | None, limit: int | None, chunk: int
) -> Iterator[list[StoredPoint]]:
    """The same points as :func:`history`, ``chunk`` at a time, never all in memory at once.

    On PostgreSQL a named (server-side) psycopg cursor inside the read transaction; SQLite's
    cursor steps lazily anyway. Both read the driver's plain tuples: SQLAlchemy's streaming
    results cost five times the query itself on a 1,000,000-point history.
    """
    stmt = _history_stmt(wid, run_id, key, after, limit)
    if conn.dialect.name == "postgresql":
        compiled = stmt.compile(dialect=conn.dialect)
        driver = conn.connection.driver_connection
        with driver.cursor(name=f"history_{uuid.uuid4().hex[:12]}") as cur:  # type: ignore[union-attr]
            cur.execute(str(compiled), compiled.params)
            while rows := cur.fetchmany(chunk):
                yield rows
        return
    result = conn.execute(stmt)
    try:
        while rows := result.cursor.fetchmany(chunk):  # type: ignore[union-attr]
            yield rows
    finally:
        result.close()


def position(point: StoredPoint) -> Position:
    return (point[1], point[2], point[0], bool(point[3]))


def history_bulk(
    conn: Connection, wid: int, run_ids: Sequence[str], key: str, limit: int
) -> list[tuple[str, str, float, int, int]]:
    """(run_id, key, value, timestamp, step) of several runs, by run id then MLflow's order."""
    m = metrics.c
    stmt = (
        select(m.run_uuid, m.key, m.value, m.timestamp, m.step, m.is_nan)
        .distinct()  # identical re-logged points once, as in history()
        .where(m.workspace_id == wid, m.run_uuid.in_(run_ids), m.key == key)
        .order_by(m.run_uuid, m.timestamp, m.step, m.value, m.is_nan)
        .limit(limit)
    )
    return [(r, k, _value(v, nan), ts, step) for r, k, v, ts, step, nan in fetch_raw(conn, stmt)]


def sample_history(
    conn: Connection,
    wid: int,
    run_ids: Sequence[str],
    key: str,
    per_run: int,
    steps: tuple[int, int] | None,
) -> dict[str, list[tuple[float, int, int, bool]]]:
    """Up to ``per_run`` evenly spread points per run, first and last point always kept.

    MLflow's GetMetricHistoryBulkInterval rule: order each run's points by (step, timestamp,
    value, is_nan), cut them into ``per_run`` NTILE buckets and keep each bucket's first row;
    then make sure the run's very last point is there, replacing the final sample when the
    page is full. One query serves every run (window functions partitioned by run).
    Returns ``{run_id: [(value, timestamp, step, is_nan), ...]}`` in that order.
    """
    m = metrics.c
    where = [m.workspace_id == wid, m.run_uuid.in_(run_ids), m.key == key]
    if steps is not None:
        where += [m.step >= steps[0], m.step <= steps[1]]
    order = [m.step, m.timestamp, m.value, m.is_nan]
    bucketed = (
        select(
            m.run_uuid,
            m.value,
            m.timestamp,
            m.step,
            m.is_nan,
            func.ntile(cast(literal(per_run), Integer))
            .over(partition_by=m.run_uuid, order_by=order)
            .label("bucket"),
            func.row_number()
            .over(partition_by=m.run_uuid, order_by=[c.desc() for c in order])
            .label("from_end"),
        )
        .where(*where)
        .subquery()
    )
    b = bucketed.c
    ranked = select(
        b.run_uuid,
        b.value,
        b.timestamp,
        b.step,
        b.is_nan,
        b.from_end,
        func.row_number()
        .over(partition_by=[b.run_uuid, b.bucket], order_by=[b.step, b.timestamp, b.value, b.is_nan])
        .label("in_bucket"),
    ).subquery()
    r = ranked.c
    stmt = (
        select(r.run_uuid, r.value, r.timestamp, r.step, r.is_nan, r.in_bucket, r.from_end)
        .where(or_(r.in_bucket == 1, r.from_end == 1))
        .order_by(r.run_uuid, r.step, r.timestamp, r.value, r.is_nan)
    )
    sampled: dict[str, list[tuple[float, int, int, bool]]] = {}
    last: dict[str, tuple[float, int, int, bool]] = {}
    for run_id, value, ts, step, is_nan, in_bucket, from_end in fetch_raw(conn, stmt):
        point = (value, ts, step, bool(is_nan))
        if in_bucket == 1:
            sampled.setdefault(run_id, []).append(point)
        if from_end == 1:
            last[run_id] = point
    for run_id, end in last.items():
        points = sampled.setdefault(run_id, [])
        if not points or _point_key(points[-1]) != _point_key(end):
            if len(points) >= per_run:
                points[-1] = end
            else:
                points.append(end)
    return sampled


def _point_key(p: tuple[float, int, int, bool]) -> tuple[int, int, float | None, bool]:
    return (p[2], p[1], None if p[3] else p[0], p[3])


__all__ = [
    "MetricRow",
    "Position",
    "StoredPoint",
    "history",
    "history_bulk",
    "history_chunks",
    "latest_for_runs",
    "latest_per_key",
    "position",
    "sample_history",
    "sanitize",
    "write",
    "write_if_active_pg",
    "write_many_if_active_pg",
]
