"""Bad input to runs endpoints: MLflow's error codes, useful messages, and nothing half-written."""

from __future__ import annotations

import time

import pytest
import requests
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException


@pytest.fixture
def run_id(client, unique):
    eid = client.create_experiment(f"errors-{unique}")
    return client.create_run(eid).info.run_id


@pytest.fixture
def api(server):
    base = f"{server.url}/api/2.0/mlflow"

    def call(method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{base}/{path}", timeout=30, **kwargs)

    return call


def error_of(excinfo: pytest.ExceptionInfo[MlflowException]) -> tuple[str, str]:
    """(error_code, the server's message); the client prefixes the message with the code."""
    code = excinfo.value.error_code
    return code, excinfo.value.message.removeprefix(f"{code}: ")


def test_changed_param_value_is_refused_and_nothing_is_written(client, run_id):
    client.log_param(run_id, "lr", "0.1")
    with pytest.raises(MlflowException) as err:
        client.log_batch(
            run_id,
            metrics=[Metric("loss", 1.0, 1, 0)],
            params=[Param("new", "x"), Param("lr", "0.2")],
            tags=[RunTag("t", "v")],
        )
    code, message = error_of(err)
    assert code == "INVALID_PARAMETER_VALUE"
    assert "'lr'" in message and "0.1" in message and "0.2" in message
    data = client.get_run(run_id).data
    assert data.params == {"lr": "0.1"}
    assert data.metrics == {}
    assert "t" not in data.tags
    assert client.get_metric_history(run_id, "loss") == []

    with pytest.raises(MlflowException) as err:
        client.log_param(run_id, "lr", "0.3")
    code, message = error_of(err)
    assert code == "INVALID_PARAMETER_VALUE"
    assert "key='lr'" in message and "value='0.1'" in message and "'0.3'" in message


def test_duplicate_param_keys_with_different_values_in_one_batch(client, run_id):
    with pytest.raises(MlflowException) as err:
        client.log_batch(run_id, params=[Param("k", "1"), Param("k", "2")])
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "'k'" in err.value.message
    assert client.get_run(run_id).data.params == {}


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda c, r: c.log_metric(r, "k" * 251, 1.0), "'Metric name' exceeds the maximum length of 250"),
        (lambda c, r: c.log_param(r, "k" * 251, "v"), "'Param key' exceeds the maximum length of 250"),
        (lambda c, r: c.set_tag(r, "k" * 251, "v"), "'key' exceeds the maximum length of 250"),
        (lambda c, r: c.log_metric(r, "bad$key", 1.0), "Names may only contain alphanumerics"),
        (lambda c, r: c.log_param(r, "../escape", "v"), "would resolve to"),
        (lambda c, r: c.log_batch(r, tags=[RunTag("ok", "v"), RunTag("/abs", "v")]), "tags[1].key"),
    ],
)
def test_bad_keys(client, run_id, call, needle):
    with pytest.raises(MlflowException) as err:
        call(client, run_id)
    code, message = error_of(err)
    assert code == "INVALID_PARAMETER_VALUE"
    assert needle in message


@pytest.mark.parametrize(
    ("metrics", "params", "tags", "needle"),
    [
        (1001, 0, 0, "at most 1000 metrics. Got 1001"),
        (0, 101, 0, "at most 100 params. Got 101"),
        (0, 0, 101, "at most 100 tags. Got 101"),
        (950, 60, 0, "at most 1000 metrics, params, and tags. Got 1010"),
    ],
)
def test_batch_limits(api, run_id, metrics, params, tags, needle):
    body = {
        "run_id": run_id,
        "metrics": [{"key": f"m{i}", "value": 1, "timestamp": 1} for i in range(metrics)],
        "params": [{"key": f"p{i}", "value": "v"} for i in range(params)],
        "tags": [{"key": f"t{i}", "value": "v"} for i in range(tags)],
    }
    r = api("POST", "runs/log-batch", json=body)
    assert r.status_code == 400
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert needle in r.json()["message"]
    got = api("GET", "runs/get", params={"run_id": run_id}).json()["run"]["data"]
    assert "metrics" not in got and "params" not in got


def test_unknown_run(client, api):
    missing = "0" * 32
    for call in (
        lambda: client.get_run(missing),
        lambda: client.log_metric(missing, "m", 1.0),
        lambda: client.log_batch(missing, params=[Param("p", "v")]),
        lambda: client.set_terminated(missing),
        lambda: client.delete_run(missing),
        lambda: client.get_metric_history(missing, "m"),
    ):
        with pytest.raises(MlflowException) as err:
            call()
        assert error_of(err) == ("RESOURCE_DOES_NOT_EXIST", f"Run with id={missing} not found")
        # Classified as `mlflow server` classifies it, not as the client guesses for others.
        assert (err.value.sqlstate, err.value.error_class) == ("KAM00", "RESOURCE_NOT_FOUND")
    r = api("GET", "runs/get", params={"run_id": missing})
    assert r.status_code == 404


def test_deleted_run_cannot_be_logged_to(client, run_id):
    client.delete_run(run_id)
    for call in (
        lambda: client.log_metric(run_id, "m", 1.0),
        lambda: client.log_param(run_id, "p", "v"),
        lambda: client.set_tag(run_id, "t", "v"),
        lambda: client.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)]),
        lambda: client.update_run(run_id, status="FINISHED"),
    ):
        with pytest.raises(MlflowException) as err:
            call()
        code, message = error_of(err)
        assert code == "INVALID_PARAMETER_VALUE"
        # (the client appends a long hint to log_param errors)
        assert message.startswith(
            f"The run {run_id} must be in the 'active' state. Current state is deleted."
        )


def test_runs_of_a_deleted_experiment_cannot_be_logged_to(client, unique):
    eid = client.create_experiment(f"doomed-{unique}")
    rid = client.create_run(eid).info.run_id
    client.delete_experiment(eid)
    with pytest.raises(MlflowException) as err:
        client.log_metric(rid, "m", 1.0)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(
    ("filter_string", "needle"),
    [
        ("metrics.acc >", "metrics.acc"),
        ("params.opt = 'adam' AND", "AND"),
        ("metrics.acc LIKE 'x'", "LIKE"),
        ("foo.bar = 1", "foo"),
    ],
)
def test_filter_syntax_errors_point_at_the_problem(client, run_id, filter_string, needle):
    eid = client.get_run(run_id).info.experiment_id
    with pytest.raises(MlflowException) as err:
        client.search_runs([eid], filter_string)
    code, message = error_of(err)
    assert code == "INVALID_PARAMETER_VALUE"
    assert needle in message


def test_bad_order_by_and_page_token(client, run_id):
    eid = client.get_run(run_id).info.experiment_id
    with pytest.raises(MlflowException) as err:
        client.search_runs([eid], order_by=["metrics.acc SIDEWAYS"])
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as err:
        client.search_runs([eid], page_token="not-a-token")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "page token" in err.value.message


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("runs/log-metric", {"run_id": 5, "key": "m", "value": 1, "timestamp": 1}, "run_id"),
        ("runs/log-metric", {"run_id": "x", "key": "m", "value": "high", "timestamp": 1}, "value"),
        ("runs/log-metric", {"run_id": "x", "key": "m", "value": 1}, "timestamp"),
        ("runs/log-metric", {"run_id": "x", "key": "m", "value": 1, "timestamp": -5}, "timestamp"),
        ("runs/log-metric", {"run_id": "x", "key": "m", "value": 1, "timestamp": 1, "step": 2**63}, "step"),
        ("runs/create", {"experiment_id": "0", "start_time": 2**63}, "start_time"),
        ("runs/outputs", {"run_id": "x", "models": [{"model_id": "m-1", "step": 2**63}]}, "step"),
        ("runs/log-batch", {"run_id": "x", "metrics": {"key": "m"}}, "metrics"),
        ("runs/log-batch", {"run_id": "x", "metrics": [{"key": "m", "value": 1}]}, "metrics[0].timestamp"),
        ("runs/log-batch", {"run_id": "x", "params": [{"value": "v"}]}, "params[0].key"),
        ("runs/log-parameter", {"run_id": "x", "key": ["k"], "value": "v"}, "key"),
        ("runs/create", {"experiment_id": "0", "start_time": "yesterday"}, "start_time"),
        ("runs/create", {"start_time": 1}, "experiment_id"),
        ("runs/update", {"run_id": "x", "status": "SLEEPING"}, "SLEEPING"),
        ("runs/search", {"experiment_ids": ["0"], "max_results": 50001}, "max_results"),
        ("runs/search", {"experiment_ids": ["abc"]}, "abc"),
        ("runs/outputs", {"run_id": "x"}, "models"),
        ("runs/log-model", {"run_id": "x", "model_json": "{"}, "not a valid JSON"),
    ],
)
def test_wrong_json_types_and_values(api, run_id, path, body, needle):
    body = {k: (run_id if v == "x" else v) for k, v in body.items()}
    r = api("POST", path, json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert needle in r.json()["message"]


def test_history_and_interval_arguments(api, run_id):
    r = api("GET", "metrics/get-history", params={"run_id": run_id, "metric_key": "m", "max_results": 0})
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    interval = "metrics/get-history-bulk-interval"
    for params, needle in [
        ({"run_ids": run_id, "metric_key": "m", "start_step": 1}, "both must be specified"),
        ({"run_ids": run_id, "metric_key": "m", "start_step": 5, "end_step": 1}, "start_step=5"),
        ({"run_ids": run_id, "metric_key": "m", "max_results": 2501}, "between 1 and 2500"),
        ({"run_ids": [run_id] * 101, "metric_key": "m"}, "at most 100 run_ids"),
        ({"run_ids": run_id}, "metric_key"),
        ({"run_ids": run_id, "metric_key": "m", "start_step": 2**63, "end_step": 2**63}, "start_step"),
    ]:
        r = api("GET", interval, params=params)
        assert r.status_code == 400, params
        assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert needle in r.json()["message"]
    r = api("GET", interval, params={"run_ids": "f" * 32, "metric_key": "m"})
    assert r.status_code == 404


def test_metric_for_unknown_logged_model_is_refused(client, run_id):
    with pytest.raises(MlflowException) as err:
        client.log_batch(run_id, metrics=[Metric("m", 1.0, int(time.time() * 1000), 0, model_id="m-nope")])
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_run(run_id).data.metrics == {}


def test_delete_missing_tag(client, run_id):
    with pytest.raises(MlflowException) as err:
        client.delete_tag(run_id, "never-set")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
