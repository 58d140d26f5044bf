"""Logging metrics, params and tags through the stock client, and reading history back."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor

import mlflow
import pytest
import requests
from mlflow.entities import Metric, Param, RunTag


@pytest.fixture
def run_id(client, unique):
    eid = client.create_experiment(f"logging-{unique}")
    return client.create_run(eid).info.run_id


def test_fluent_logging_calls(tracking_uri, client, unique):
    mlflow.set_experiment(f"fluent-logging-{unique}")
    with mlflow.start_run() as run:
        mlflow.log_param("depth", 3)
        mlflow.log_params({"lr": 0.1, "optimizer": "adam"})
        mlflow.log_metric("loss", 0.9)
        mlflow.log_metrics({"acc": 0.7, "f1": 0.6}, step=2)
        mlflow.set_tag("stage", "dev")
        mlflow.set_tags({"owner": "ana", "empty": ""})
    data = client.get_run(run.info.run_id).data
    assert data.params == {"depth": "3", "lr": "0.1", "optimizer": "adam"}
    assert data.metrics == {"loss": 0.9, "acc": 0.7, "f1": 0.6}
    assert {k: data.tags[k] for k in ("stage", "owner", "empty")} == {
        "stage": "dev",
        "owner": "ana",
        "empty": "",
    }


def test_log_batch_of_a_thousand_metrics(client, run_id):
    now = int(time.time() * 1000)
    metrics = [Metric(f"m{i}", i / 10, now, 0) for i in range(990)]
    params = [Param(f"p{i}", str(i)) for i in range(5)]
    tags = [RunTag(f"t{i}", "x") for i in range(5)]
    client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    data = client.get_run(run_id).data
    assert len(data.metrics) == 990
    assert data.metrics["m42"] == pytest.approx(4.2)
    assert data.params["p4"] == "4"
    assert data.tags["t4"] == "x"


def test_nan_and_infinity_round_trip(client, run_id):
    client.log_metric(run_id, "nan", float("nan"), step=0)
    client.log_metric(run_id, "pinf", float("inf"))
    client.log_batch(run_id, metrics=[Metric("ninf", float("-inf"), 1, 0)])
    metrics = client.get_run(run_id).data.metrics
    assert math.isnan(metrics["nan"])
    assert metrics["pinf"] == math.inf
    assert metrics["ninf"] == -math.inf
    (point,) = client.get_metric_history(run_id, "nan")
    assert math.isnan(point.value)


def test_latest_value_is_greatest_step_then_timestamp_then_value(client, run_id):
    client.log_batch(
        run_id,
        metrics=[
            Metric("m", 5.0, 100, 3),
            Metric("m", 1.0, 999, 2),  # later timestamp, smaller step: not latest
            Metric("m", 4.0, 100, 3),  # same step and time, smaller value: not latest
        ],
    )
    assert client.get_run(run_id).data.metrics["m"] == 5.0
    client.log_metric(run_id, "m", 2.0, timestamp=50, step=1)  # older step, in a later request
    assert client.get_run(run_id).data.metrics["m"] == 5.0
    client.log_metric(run_id, "m", -1.0, timestamp=101, step=3)  # same step, newer time
    assert client.get_run(run_id).data.metrics["m"] == -1.0
    client.log_metric(run_id, "m", float("nan"), timestamp=1, step=4)  # a greater step wins, NaN too
    assert math.isnan(client.get_run(run_id).data.metrics["m"])
    assert len(client.get_metric_history(run_id, "m")) == 6


def test_metric_history_order_and_paging(server, client, run_id):
    client.log_batch(run_id, metrics=[Metric("h", float(i), 1000 + i, i) for i in range(25)])
    history = client.get_metric_history(run_id, "h")
    assert [m.step for m in history] == list(range(25))

    url = f"{server.url}/api/2.0/mlflow/metrics/get-history"
    seen, token = [], None
    while True:
        params = {"run_id": run_id, "metric_key": "h", "max_results": 10}
        if token:
            params["page_token"] = token
        body = requests.get(url, params=params, timeout=10).json()
        seen += [m["step"] for m in body["metrics"]]
        token = body.get("next_page_token")
        if not token:
            break
    assert seen == list(range(25))


def test_params_may_be_relogged_with_the_same_value(client, run_id):
    client.log_param(run_id, "k", "v")
    client.log_param(run_id, "k", "v")
    client.log_batch(run_id, params=[Param("k", "v"), Param("k2", "w")])
    assert client.get_run(run_id).data.params == {"k": "v", "k2": "w"}


def test_tags_overwrite_and_delete(client, run_id):
    client.set_tag(run_id, "k", "one")
    client.log_batch(run_id, tags=[RunTag("k", "two"), RunTag("k", "three")])  # the last value wins
    assert client.get_run(run_id).data.tags["k"] == "three"
    client.delete_tag(run_id, "k")
    assert "k" not in client.get_run(run_id).data.tags


def test_over_long_values_are_truncated_like_mlflow(client, run_id):
    client.log_param(run_id, "long", "x" * 6500)
    client.set_tag(run_id, "long", "y" * 9000)
    data = client.get_run(run_id).data
    assert data.params["long"] == "x" * 6000
    assert data.tags["long"] == "y" * 8000


def test_metric_with_model_id_also_lands_on_the_model(client, run_id):
    eid = client.get_run(run_id).info.experiment_id
    model = client.create_logged_model(eid, name="clf", source_run_id=run_id)
    client.log_metric(
        run_id, "auc", 0.9, step=1, model_id=model.model_id, dataset_name="eval", dataset_digest="d1"
    )
    assert client.get_run(run_id).data.metrics["auc"] == 0.9
    (metric,) = client.get_logged_model(model.model_id).metrics
    assert (metric.key, metric.value, metric.step, metric.run_id) == ("auc", 0.9, 1, run_id)
    assert (metric.dataset_name, metric.dataset_digest) == ("eval", "d1")


def test_bulk_interval_samples_evenly_and_keeps_the_ends(server, client, run_id, unique):
    other = client.create_run(client.get_run(run_id).info.experiment_id).info.run_id
    client.log_batch(run_id, metrics=[Metric("s", float(i), i, i) for i in range(1000)])
    client.log_batch(other, metrics=[Metric("s", float(i), i, i) for i in range(7)])
    url = f"{server.url}/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval"

    body = requests.get(
        url, params={"run_ids": [run_id, other], "metric_key": "s", "max_results": 10}, timeout=10
    )
    points = body.json()["metrics"]
    mine = [p["step"] for p in points if p["run_id"] == run_id]
    assert mine == [0, 100, 200, 300, 400, 500, 600, 700, 800, 999]  # NTILE buckets, last point kept
    assert [p["step"] for p in points if p["run_id"] == other] == list(range(7))

    body = requests.get(
        url,
        params={"run_ids": run_id, "metric_key": "s", "start_step": 10, "end_step": 20, "max_results": 4},
        timeout=10,
    )
    assert [p["step"] for p in body.json()["metrics"]] == [10, 13, 16, 20]

    body = requests.get(url, params={"run_ids": run_id, "metric_key": "s", "max_results": 1}, timeout=10)
    assert [p["step"] for p in body.json()["metrics"]] == [999]

    rest = f"{server.url}/api/2.0/mlflow/metrics/get-history-bulk-interval"
    body = requests.get(rest, params={"run_ids": other, "metric_key": "s"}, timeout=10).json()
    assert body["metrics"][0] == {"key": "s", "value": 0.0, "timestamp": 0, "step": 0, "run_id": other}


def test_ui_history_bulk(server, client, run_id):
    client.log_batch(run_id, metrics=[Metric("u", float(i), i, i) for i in range(3)])
    body = requests.get(
        f"{server.url}/ajax-api/2.0/mlflow/metrics/get-history-bulk",
        params={"run_id": run_id, "metric_key": "u"},
        timeout=10,
    ).json()
    assert [(p["run_id"], p["step"]) for p in body["metrics"]] == [(run_id, 0), (run_id, 1), (run_id, 2)]


def test_concurrent_writers_lose_nothing(client, run_id):
    """16 threads, each logging its own steps of the same 50 keys to one run."""

    def worker(thread: int) -> None:
        for step in range(thread * 4, thread * 4 + 4):
            client.log_batch(run_id, metrics=[Metric(f"k{i}", float(step), step, step) for i in range(50)])

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(worker, range(16)))
    metrics = client.get_run(run_id).data.metrics
    assert metrics == {f"k{i}": 63.0 for i in range(50)}  # the greatest step wins, whoever wrote last
    assert [m.step for m in client.get_metric_history(run_id, "k7")] == list(range(64))
