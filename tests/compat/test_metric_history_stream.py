"""get-history without max_results (or above the client's 25,000 page) is streamed: same JSON,
same order and paging, identical re-logged points once, errors before the first byte."""

from __future__ import annotations

import math

import requests
from mlflow import MlflowClient
from mlflow.entities import Metric

API = "/api/2.0/mlflow"


def _history(base: str, **params: object) -> requests.Response:
    return requests.get(base + API + "/metrics/get-history", params=params, timeout=60)


def _run_with_points(client: MlflowClient, name: str, n: int) -> str:
    run_id = client.create_run(client.create_experiment(name)).info.run_id
    for start in range(0, n, 1000):
        batch = [Metric("loss", float(s), 10 + s // 3, s) for s in range(start, min(n, start + 1000))]
        client.log_batch(run_id, metrics=batch)
    return run_id


def test_unpaged_or_large_pages_stream_every_point_in_order(client, unique):
    n = 30_010  # more than one 10,000-row chunk and more than the 25,000 in-memory page
    run_id = _run_with_points(client, f"stream-{unique}", n)
    r = _history(client.tracking_uri, run_id=run_id, metric_key="loss")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"metrics"}
    assert [m["step"] for m in body["metrics"]] == list(range(n))
    assert body["metrics"][7] == {"key": "loss", "value": 7.0, "timestamp": 12, "step": 7}
    # The stock client pages with max_results=25,000 (built in memory) and gets the same points.
    assert [m.step for m in client.get_metric_history(run_id, "loss")] == list(range(n))

    first = _history(client.tracking_uri, run_id=run_id, metric_key="loss", max_results=30_000).json()
    assert [m["step"] for m in first["metrics"]] == list(range(30_000))
    token = first["next_page_token"]
    rest = _history(
        client.tracking_uri, run_id=run_id, metric_key="loss", max_results=30_000, page_token=token
    )
    assert [m["step"] for m in rest.json()["metrics"]] == list(range(30_000, n))
    assert "next_page_token" not in rest.json()


def test_streamed_history_edge_cases(client, unique):
    run_id = client.create_run(client.create_experiment(f"stream-edge-{unique}")).info.run_id
    empty = _history(client.tracking_uri, run_id=run_id, metric_key="absent")
    assert (empty.status_code, empty.json()) == (200, {})

    points = [Metric("m", math.nan, 5, 0), Metric("m", math.inf, 5, 1), Metric("m", -1.5, 5, 2)]
    client.log_batch(run_id, metrics=points)
    client.log_batch(run_id, metrics=points[2:])  # a repeated batch: the point is kept once
    got = _history(client.tracking_uri, run_id=run_id, metric_key="m").json()["metrics"]
    assert [m["value"] for m in got] == ["NaN", "Infinity", -1.5]

    missing = _history(client.tracking_uri, run_id="0" * 32, metric_key="m")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    bad = _history(client.tracking_uri, run_id=run_id, metric_key="m", page_token="not-a-token")
    assert bad.status_code == 400
    assert bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_keyset_pages_step_over_nan_points_and_repeats(client, unique):
    run_id = client.create_run(client.create_experiment(f"keyset-{unique}")).info.run_id
    points = [Metric("m", math.nan, 5, 0), Metric("m", math.nan, 5, 1), Metric("m", 2.0, 5, 1)]
    client.log_batch(run_id, metrics=points)
    client.log_batch(run_id, metrics=points)
    seen, token = [], None
    for _ in range(5):
        params = {"run_id": run_id, "metric_key": "m", "max_results": 1}
        page = _history(client.tracking_uri, **params, **({"page_token": token} if token else {})).json()
        seen += [(m["step"], m["value"]) for m in page.get("metrics", [])]
        token = page.get("next_page_token")
        if not token:
            break
    # One point per page, each once; NaN sorts as the 0 it is stored as (MLflow does the same).
    assert seen == [(0, "NaN"), (1, "NaN"), (1, 2.0)]

    first = _history(client.tracking_uri, run_id=run_id, metric_key="m", max_results=1).json()
    other = _history(
        client.tracking_uri, run_id=run_id, metric_key="x", max_results=1, page_token=first["next_page_token"]
    )
    assert other.status_code == 400
    assert "another run or metric" in other.json()["message"]
