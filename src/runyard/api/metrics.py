"""Handlers for /api/2.0/mlflow/metrics/*: metric history, paged or sampled."""

from __future__ import annotations

from runyard.api.call import Call
from runyard.api.wire import runs as w
from runyard.api.wire.base import wire_float


def _with_run_ids(points: list[tuple[str, str, float, int, int]]) -> w.MetricsWithRunIdResponse:
    return w.MetricsWithRunIdResponse(
        metrics=[
            w.MetricWithRunId(key=key, value=wire_float(value), timestamp=ts, step=step, run_id=run_id)
            for run_id, key, value, ts, step in points
        ]
    )


def get_history(call: Call, req: w.GetMetricHistory) -> w.GetMetricHistoryResponse:
    page = call.services.runs.metric_history(
        call.workspace, req.run_id or req.run_uuid, req.metric_key, req.max_results, req.page_token
    )
    return w.GetMetricHistoryResponse(
        metrics=[
            w.Metric(key=key, value=wire_float(value), timestamp=ts, step=step)
            for key, value, ts, step in page.items
        ],
        next_page_token=page.next_page_token,
    )


def get_history_bulk_interval(call: Call, req: w.GetMetricHistoryBulkInterval) -> w.MetricsWithRunIdResponse:
    points = call.services.runs.metric_history_sampled(
        call.workspace, req.run_ids, req.metric_key, req.start_step, req.end_step, req.max_results
    )
    return _with_run_ids(points)


def get_history_bulk(call: Call, req: w.GetMetricHistoryBulk) -> w.MetricsWithRunIdResponse:
    points = call.services.runs.metric_history_bulk(
        call.workspace, req.run_id, req.metric_key, req.max_results
    )
    return _with_run_ids(points)
