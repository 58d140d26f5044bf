"""Searches that filter and order on the same metric (the index-walk path) keep MLflow's
semantics: NaN and runs without the metric never match a comparison, order and paging hold."""

from __future__ import annotations

import math

from mlflow.entities import Metric, Param


def test_filter_and_order_on_one_metric(client, unique):
    eid = client.create_experiment(f"metric-order-{unique}")
    values = [0.9, 0.1, 0.4, math.nan, 0.4, 0.25, None, 0.05, 0.7, 0.3]
    for i, v in enumerate(values):
        run_id = client.create_run(eid, run_name=f"r{i}", start_time=1000 + i).info.run_id
        metrics = [] if v is None else [Metric("rmse", v, 1, 0)]
        client.log_batch(run_id, metrics=metrics, params=[Param("alpha", "0.1" if i % 2 else "0.2")])

    def names(filter_string: str, order_by: list[str], page: int = 1000) -> list[str]:
        found, token = [], None
        while True:
            runs = client.search_runs(
                [eid], filter_string, max_results=page, order_by=order_by, page_token=token
            )
            found += [r.info.run_name for r in runs]
            token = runs.token
            if not token:
                return found

    # Ties (0.4 twice) fall back to start_time DESC: r4 before r2.
    assert names("metrics.rmse < 0.5", ["metrics.rmse"]) == ["r7", "r1", "r5", "r9", "r4", "r2"]
    assert names("metrics.rmse < 0.5", ["metrics.rmse DESC"]) == ["r4", "r2", "r9", "r5", "r1", "r7"]
    assert names("metrics.rmse < 0.5", ["metrics.rmse"], page=2) == ["r7", "r1", "r5", "r9", "r4", "r2"]
    assert names(
        "metrics.rmse >= 0.3 and metrics.rmse <= 0.7 and params.alpha = '0.1'", ["metrics.rmse"]
    ) == ["r9"]
    # Not folded ("!=" matches NaN): NaN, then runs without the metric, come last as before.
    assert names("metrics.rmse != 0.4", ["metrics.rmse"]) == ["r7", "r1", "r5", "r9", "r8", "r0", "r3"]
    assert names("", ["metrics.rmse"])[-2:] == ["r3", "r6"]
