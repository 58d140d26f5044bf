"""SQL for chart-sized metric histories: a whole short history, or a long one cut into buckets.

A bucket is a range of steps (or of timestamps, when every point has the same step); each
gives its first and last step and time, and the mean, minimum and maximum of its values, so a
chart can draw the mean line and the min-max band without ever receiving the raw points.
One aggregate query per (run, key), served by the (run_uuid, key, step, timestamp) index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, case, func, literal, select

from runyard.store.sql.dialect import fetch_raw
from runyard.store.sql.schema import metrics

_m = metrics.c


@dataclass(frozen=True, slots=True)
class Extent:
    count: int
    min_step: int
    max_step: int
    min_time: int
    max_time: int


def extents(conn: Connection, wid: int, run_ids: Sequence[str], key: str) -> dict[str, Extent]:
    """How many points each run has for ``key`` and their step and time ranges (one query)."""
    stmt = (
        select(
            _m.run_uuid,
            func.count(),
            func.min(_m.step),
            func.max(_m.step),
            func.min(_m.timestamp),
            func.max(_m.timestamp),
        )
        .where(_m.workspace_id == wid, _m.run_uuid.in_(run_ids), _m.key == key)
        .group_by(_m.run_uuid)
    )
    return {row[0]: Extent(*row[1:]) for row in fetch_raw(conn, stmt)}


def points(conn: Connection, wid: int, run_id: str, key: str) -> list[tuple[int, int, float, bool]]:
    """Every point as (step, timestamp, value, is_nan), in step then time order."""
    stmt = (
        select(_m.step, _m.timestamp, _m.value, _m.is_nan)
        .where(_m.workspace_id == wid, _m.run_uuid == run_id, _m.key == key)
        .order_by(_m.step, _m.timestamp)
    )
    return [(s, t, v, bool(n)) for s, t, v, n in fetch_raw(conn, stmt)]


def buckets(
    conn: Connection, wid: int, run_id: str, key: str, by_time: bool, low: int, width: int
) -> list[tuple[int, int, int, int, float | None, float | None, float | None]]:
    """(first step, last step, first time, last time, mean, min, max) per bucket, in order.

    ``width`` is a whole number of steps (or milliseconds): integer division gives the same
    buckets on SQLite and PostgreSQL, and never overflows the way a scaled product could.
    NaN points are left out of the statistics.
    """
    column = _m.timestamp if by_time else _m.step
    bucket = ((column - literal(low)) // literal(width)).label("bucket")
    value = case((_m.is_nan == literal(True), None), else_=_m.value)
    stmt = (
        select(
            func.min(_m.step),
            func.max(_m.step),
            func.min(_m.timestamp),
            func.max(_m.timestamp),
            func.avg(value),
            func.min(value),
            func.max(value),
        )
        .where(_m.workspace_id == wid, _m.run_uuid == run_id, _m.key == key)
        .group_by(bucket)
        .order_by(bucket)
    )
    return [tuple(row) for row in fetch_raw(conn, stmt)]  # type: ignore[misc]


__all__ = ["Extent", "buckets", "extents", "points"]
