"""GET /w/<ws>/charts/metrics: metric histories for the charts, downsampled on the server.

The metric chart service sends a history whole when it is short and as about ``points``
step buckets (mean line, min-max band) when it is long, so 20 runs of 10,000 steps arrive
as 20 small series and the browser never draws more than it can show.
"""

from __future__ import annotations

import msgspec
from starlette.responses import Response

from runyard.errors import InvalidParameter
from runyard.services.metric_charts import MAX_POINTS, MAX_RUNS
from runyard.ui.web import Ctx

DEFAULT_POINTS = 1000


def run_ids(ctx: Ctx) -> list[str]:
    """Run ids from ``?runs=a,b`` and/or repeated ``?run=a&run=b``, in order, once each."""
    found: list[str] = []
    for item in [*ctx.params("runs"), *ctx.params("run")]:
        found += [r.strip() for r in item.split(",") if r.strip()]
    return list(dict.fromkeys(found))


def metric_series(ctx: Ctx) -> Response:
    raw = ctx.param("points", str(DEFAULT_POINTS))
    if not raw.isdigit():
        raise InvalidParameter(f"Invalid points '{raw}': use a number from 2 to {MAX_POINTS}.")
    ids = run_ids(ctx)
    found = ctx.services.metric_charts.series(ctx.ws, ids, ctx.params("key"), int(raw))
    names = {
        rid: ctx.services.runs.get(ctx.ws, rid).info.run_name or rid for rid in {s.run_id for s in found}
    }
    body = {
        "series": [
            {"run_id": s.run_id, "run_name": names[s.run_id], "key": s.key, "total": s.total,
             "points": s.points, "band": s.band}
            for s in found
        ],
    }  # fmt: skip
    # msgspec: several times faster than json.dumps for tens of thousands of numbers.
    return Response(
        msgspec.json.encode(body), media_type="application/json", headers={"Cache-Control": "no-store"}
    )


__all__ = ["MAX_RUNS", "metric_series", "run_ids"]
