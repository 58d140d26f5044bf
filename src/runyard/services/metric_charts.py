"""Metric histories for charts: whole when short, bucketed to a fixed size when long.

A chart cannot show more points than it has pixels, so a history longer than ``points`` is
cut into about ``points`` buckets by step (the mean drawn as the line, the min and max as a
band, so spikes stay visible); 20 runs of 10,000 steps arrive as 20 small series.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from runyard.entities import Workspace
from runyard.errors import InvalidParameter
from runyard.services.run_logging import require_run_id, run_not_found
from runyard.store.sql import metric_charts as sql
from runyard.store.sql import runs as runs_sql
from runyard.store.sql.engine import Database

MAX_RUNS = 20
MAX_KEYS = 100
MAX_POINTS = 2500


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass
class Series:
    run_id: str
    key: str
    total: int  # points in the stored history
    # (step, timestamp, value): value None for NaN and infinities (JSON cannot carry them)
    points: list[tuple[float, float, float | None]] = field(default_factory=list)
    # (step, min, max) per bucket when the history was bucketed; empty when it came whole
    band: list[tuple[float, float | None, float | None]] = field(default_factory=list)


class MetricChartService:
    def __init__(self, db: Database) -> None:
        self._db = db

    def series(self, ws: Workspace, run_ids: Sequence[str], keys: Sequence[str], points: int) -> list[Series]:
        """One series per (key, run) that has the metric, keys first, in the order given."""
        ids = [require_run_id(r) for r in dict.fromkeys(run_ids)]
        keys = list(dict.fromkeys(keys))
        if not 1 <= len(ids) <= MAX_RUNS:
            raise InvalidParameter(f"Give 1 to {MAX_RUNS} runs; got {len(ids)}.")
        if not 1 <= len(keys) <= MAX_KEYS or not all(keys):
            raise InvalidParameter(f"Give 1 to {MAX_KEYS} metric keys; got {len(keys)}.")
        if not 2 <= points <= MAX_POINTS:
            raise InvalidParameter(f"Invalid points {points}: use a number from 2 to {MAX_POINTS}.")
        out: list[Series] = []
        with self._db.read() as conn:
            known = runs_sql.existing_ids(conn, ws.id, ids)
            for rid in ids:
                if rid not in known:
                    raise run_not_found(rid)
            for key in keys:
                found = sql.extents(conn, ws.id, ids, key)
                out += [self._one(conn, ws.id, rid, key, found[rid], points) for rid in ids if rid in found]
        return out

    @staticmethod
    def _one(conn, wid: int, run_id: str, key: str, ext: sql.Extent, points: int) -> Series:  # noqa: ANN001
        series = Series(run_id, key, ext.count)
        if ext.count <= points:
            rows = sql.points(conn, wid, run_id, key)
            series.points = [(s, t, None if nan else _finite(v)) for s, t, v, nan in rows]
            return series
        by_time = ext.max_step == ext.min_step  # every point at one step: spread them by time
        low, high = (ext.min_time, ext.max_time) if by_time else (ext.min_step, ext.max_step)
        width = max(1, -(-(high - low + 1) // points))  # ceiling division: at most `points` buckets
        for s0, s1, t0, t1, mean, lo, hi in sql.buckets(conn, wid, run_id, key, by_time, low, width):
            step, when = (s0 + s1) / 2, (t0 + t1) / 2
            series.points.append((step, when, _finite(mean)))
            series.band.append((step, _finite(lo), _finite(hi)))
        # The line spans the whole history: the end buckets sit at the first and last step.
        first, last = series.points[0], series.points[-1]
        series.points[0] = (low if not by_time else first[0], ext.min_time, first[2])
        series.points[-1] = (high if not by_time else last[0], ext.max_time, last[2])
        return series


__all__ = ["MAX_POINTS", "MAX_RUNS", "MetricChartService", "Series"]
