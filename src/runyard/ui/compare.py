"""GET /w/<ws>/compare?runs=a,b,...: 2 to 20 runs side by side, differences highlighted."""

from __future__ import annotations

from starlette.responses import Response

from runyard.errors import InvalidParameter
from runyard.ui.charts import MAX_RUNS, run_ids
from runyard.ui.web import Ctx


def _rows(runs: list, values: list[dict]) -> list[tuple[str, list, bool]]:
    """(key, value per run, differs) for the union of keys, differing rows first."""
    keys = sorted({k for v in values for k in v})
    rows = []
    for key in keys:
        cells = [v.get(key) for v in values]
        rows.append((key, cells, len({repr(c) for c in cells}) > 1))
    return rows


def compare(ctx: Ctx) -> Response:
    ids = run_ids(ctx)
    if not 2 <= len(ids) <= MAX_RUNS:
        raise InvalidParameter(
            f"Pick 2 to {MAX_RUNS} runs to compare (tick them in an experiment's runs table); got {len(ids)}."
        )
    runs = [ctx.services.runs.get(ctx.ws, rid) for rid in ids]
    params = _rows(runs, [r.params for r in runs])
    metrics = _rows(runs, [{k: val for k, val, _ts, _step in r.metrics} for r in runs])
    tags = _rows(runs, [{k: val for k, val in r.tags.items() if not k.startswith("mlflow.")} for r in runs])
    experiments = {r.info.experiment_id for r in runs}
    return ctx.render(
        "compare.html",
        runs=runs,
        ids=ids,
        params=params,
        metrics=metrics,
        tags=tags,
        metric_keys=[row[0] for row in metrics],
        only_diff=ctx.param("diff") == "1",
        experiment=ctx.services.experiments.get(ctx.ws, runs[0].info.experiment_id)
        if len(experiments) == 1
        else None,
    )


__all__ = ["compare"]
