"""Handlers for /api/2.0/mlflow/metrics/*: metric history, paged or sampled."""

from __future__ import annotations

import math
from collections.abc import Iterator

import msgspec
from starlette.responses import StreamingResponse

from runyard.api.call import Call
from runyard.api.wire import runs as w
from runyard.api.wire.base import wire_float
from runyard.services.history_stream import HistoryStream
from runyard.store.sql.metrics import StoredPoint

# Pages up to the stock client's own page size (25,000) are built in memory; larger ones stream.
IN_MEMORY_PAGE = 25_000
_encoder = msgspec.json.Encoder()


def _with_run_ids(points: list[tuple[str, str, float, int, int]]) -> w.MetricsWithRunIdResponse:
    return w.MetricsWithRunIdResponse(
        metrics=[
            w.MetricWithRunId(key=key, value=wire_float(value), timestamp=ts, step=step, run_id=run_id)
            for run_id, key, value, ts, step in points
        ]
    )


def _points(key: str, points: list[StoredPoint]) -> list[w.Metric]:
    """Stored points as wire metrics. The hot loop of get-history: one message per point,
    and wire_float only for the rare NaN or infinite value."""
    metric, isfinite = w.Metric, math.isfinite
    return [
        metric(
            key=key,
            value=value if isfinite(value) and not nan else wire_float(math.nan if nan else value),
            timestamp=ts,
            step=step,
        )
        for value, ts, step, nan in points
    ]


def _streamed(stream: HistoryStream) -> Iterator[bytes]:
    """The JSON of GetMetricHistoryResponse, written chunk by chunk as rows come in."""
    opened = False
    for chunk in stream:
        body = _encoder.encode(_points(stream.key, chunk))[1:-1]  # the items, without brackets
        yield (b"," if opened else b'{"metrics":[') + body
        opened = True
    tail = b"]" if opened else b"{"
    if stream.next_page_token:
        tail += b',"next_page_token":' + _encoder.encode(stream.next_page_token)
    yield tail + b"}"


def get_history(call: Call, req: w.GetMetricHistory) -> w.GetMetricHistoryResponse | StreamingResponse:
    if req.max_results is None or req.max_results > IN_MEMORY_PAGE:
        # An unpaged (or very large) history is streamed: the server's memory stays flat
        # however many points the metric has.
        stream = call.services.runs.metric_history_stream(
            call.workspace, req.run_id or req.run_uuid, req.metric_key, req.max_results, req.page_token
        )
        return StreamingResponse(_streamed(stream), media_type="application/json")
    key, page = call.services.runs.metric_history(
        call.workspace, req.run_id or req.run_uuid, req.metric_key, req.max_results, req.page_token
    )
    return w.GetMetricHistoryResponse(metrics=_points(key, page.items), next_page_token=page.next_page_token)


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
