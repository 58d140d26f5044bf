"""GET /w/<ws>/charts/metrics: metric histories for the charts, downsampled on the server.

Each (run, metric) series is cut to at most ``points`` evenly spread points (first and last
kept) by the run service's sampled history query, so 20 runs of 10,000 steps arrive as
20 * ``points`` rows and the browser never draws more than it can show.
"""

from __future__ import annotations

import math

from starlette.responses import JSONResponse, Response

from runyard.errors import InvalidParameter
from runyard.ui.web import Ctx

MAX_RUNS = 20
MAX_KEYS = 100
DEFAULT_POINTS = 1000
MAX_POINTS = 2500


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def run_ids(ctx: Ctx) -> list[str]:
    """Run ids from ``?runs=a,b`` and/or repeated ``?run=a&run=b``, in order, once each."""
    found: list[str] = []
    for item in [*ctx.params("runs"), *ctx.params("run")]:
        found += [r.strip() for r in item.split(",") if r.strip()]
    return list(dict.fromkeys(found))


def metric_series(ctx: Ctx) -> Response:
    ids = run_ids(ctx)
    keys = list(dict.fromkeys(ctx.params("key")))
    if not 1 <= len(ids) <= MAX_RUNS:
        raise InvalidParameter(f"Give 1 to {MAX_RUNS} runs with ?run=<run_id>; got {len(ids)}.")
    if not 1 <= len(keys) <= MAX_KEYS:
        raise InvalidParameter(f"Give 1 to {MAX_KEYS} metric keys with ?key=<metric>; got {len(keys)}.")
    try:
        points = int(ctx.param("points", str(DEFAULT_POINTS)))
    except ValueError:
        points = -1
    if not 2 <= points <= MAX_POINTS:
        raise InvalidParameter(
            f"Invalid points '{ctx.param('points')}': use a number from 2 to {MAX_POINTS}."
        )
    runs = ctx.services.runs
    names = {rid: runs.get(ctx.ws, rid).info.run_name or rid for rid in ids}
    series = []
    for key in keys:
        rows = runs.metric_history_sampled(ctx.ws, ids, key, None, None, points)
        by_run: dict[str, list[list[float | int | None]]] = {}
        for rid, _key, value, ts, step in rows:
            by_run.setdefault(rid, []).append([step, ts, _finite(value)])
        for rid in ids:
            if rid in by_run:
                series.append({"run_id": rid, "run_name": names[rid], "key": key, "points": by_run[rid]})
    return JSONResponse({"series": series, "max_points": points}, headers={"Cache-Control": "no-store"})


__all__ = ["MAX_RUNS", "metric_series", "run_ids"]
