"""MLflow 3 logged models through the stock mlflow client (and raw requests for bad input)."""

from __future__ import annotations

import math
import re

import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import LoggedModelStatus
from mlflow.exceptions import MlflowException

API = "/api/2.0/mlflow/logged-models"


@pytest.fixture
def experiment(tracking_uri, unique):
    """A fresh experiment per test, so searches only see this test's models."""
    return mlflow.set_experiment(f"logged-models-{unique}")


def _error_code(excinfo: pytest.ExceptionInfo[MlflowException]) -> str:
    return excinfo.value.error_code


def test_initialize_get_finalize(experiment):
    model = mlflow.initialize_logged_model(
        name="classifier", params={"lr": "0.01"}, tags={"team": "vision"}, model_type="agent"
    )
    assert re.fullmatch(r"m-[0-9a-f]{32}", model.model_id)
    assert model.status == LoggedModelStatus.PENDING
    assert model.experiment_id == experiment.experiment_id
    assert model.artifact_location == f"{experiment.artifact_location}/models/{model.model_id}/artifacts"
    assert model.params == {"lr": "0.01"}
    assert model.tags["team"] == "vision"
    assert model.model_type == "agent"

    fetched = mlflow.get_logged_model(model.model_id)
    assert (fetched.name, fetched.status, fetched.params) == (
        "classifier",
        LoggedModelStatus.PENDING,
        {"lr": "0.01"},
    )
    assert fetched.creation_timestamp == model.creation_timestamp

    ready = mlflow.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    assert ready.status == LoggedModelStatus.READY
    assert ready.last_updated_timestamp >= model.last_updated_timestamp
    assert mlflow.get_logged_model(model.model_id).status == LoggedModelStatus.READY
    assert mlflow.finalize_logged_model(model.model_id, "FAILED").status == LoggedModelStatus.FAILED


def test_unnamed_model_gets_a_random_name(experiment):
    model = mlflow.initialize_logged_model()
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d+", model.name)


def test_many_params_arrive_in_batches(experiment):
    # The client sends the first 100 params with the create call and the rest to /params.
    params = {f"p{i:03d}": str(i) for i in range(250)}
    model = mlflow.initialize_logged_model(name="wide", params=params)
    assert model.params == params
    assert mlflow.get_logged_model(model.model_id).params == params


def test_log_model_params_same_value_ok_changed_value_refused(experiment, client):
    model = mlflow.initialize_logged_model(params={"alpha": "1"})
    client.log_model_params(model.model_id, {"alpha": "1", "beta": "2"})
    assert mlflow.get_logged_model(model.model_id).params == {"alpha": "1", "beta": "2"}
    with pytest.raises(MlflowException) as err:
        client.log_model_params(model.model_id, {"alpha": "3"})
    assert _error_code(err) == "INVALID_PARAMETER_VALUE"
    assert mlflow.get_logged_model(model.model_id).params["alpha"] == "1"


def test_set_and_delete_tags(experiment):
    model = mlflow.initialize_logged_model(tags={"stage": "dev"})
    mlflow.set_logged_model_tags(model.model_id, {"stage": "prod", "owner/team": "ml", "note": "a b"})
    tags = mlflow.get_logged_model(model.model_id).tags
    assert (tags["stage"], tags["owner/team"], tags["note"]) == ("prod", "ml", "a b")

    mlflow.delete_logged_model_tag(model.model_id, "owner/team")
    mlflow.delete_logged_model_tag(model.model_id, "note")
    tags = mlflow.get_logged_model(model.model_id).tags
    assert "owner/team" not in tags and "note" not in tags and tags["stage"] == "prod"

    with pytest.raises(MlflowException) as err:
        mlflow.delete_logged_model_tag(model.model_id, "never-set")
    assert _error_code(err) == "RESOURCE_DOES_NOT_EXIST"


def test_delete_hides_the_model(experiment, client, server):
    keep = mlflow.initialize_logged_model(name="keep")
    gone = mlflow.initialize_logged_model(name="gone")
    client.delete_logged_model(gone.model_id)

    with pytest.raises(MlflowException) as err:
        mlflow.get_logged_model(gone.model_id)
    assert _error_code(err) == "RESOURCE_DOES_NOT_EXIST"
    found = mlflow.search_logged_models(output_format="list")
    assert [m.model_id for m in found] == [keep.model_id]
    # The store keeps it (MLflow's allow_deleted=true still answers).
    r = requests.get(f"{server.url}{API}/{gone.model_id}", params={"allow_deleted": "true"}, timeout=10)
    assert r.status_code == 200
    assert r.json()["model"]["info"]["model_id"] == gone.model_id


def test_unknown_model_id_is_404(server, client):
    missing = "m-" + "0" * 32
    for call in (
        lambda: mlflow.get_logged_model(missing),
        lambda: mlflow.finalize_logged_model(missing, "READY"),
        lambda: mlflow.delete_logged_model_tag(missing, "k"),
        lambda: client.delete_logged_model(missing),
    ):
        with pytest.raises(MlflowException) as err:
            call()
        assert _error_code(err) == "RESOURCE_DOES_NOT_EXIST"
    # The client checks with a get first and reports INVALID_PARAMETER_VALUE itself for
    # tags and params; the server's own answer is 404.
    with pytest.raises(MlflowException):
        mlflow.set_logged_model_tags(missing, {"k": "v"})
    for method, path, body in (
        ("PATCH", f"{missing}/tags", {"tags": [{"key": "k", "value": "v"}]}),
        ("POST", f"{missing}/params", {"model_id": missing, "params": [{"key": "k", "value": "v"}]}),
    ):
        r = requests.request(method, f"{server.url}{API}/{path}", json=body, timeout=10)
        assert (r.status_code, r.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_wire_format(experiment, server):
    """The JSON the server sends: status as the proto enum name, ids as strings."""
    model = mlflow.initialize_logged_model(name="wire", params={"p": "1"}, tags={"t": "v"})
    body = requests.get(f"{server.url}{API}/{model.model_id}", timeout=10).json()
    info = body["model"]["info"]
    assert info["status"] == "LOGGED_MODEL_PENDING"
    assert info["experiment_id"] == experiment.experiment_id
    assert isinstance(info["creation_timestamp_ms"], int)
    assert {"key": "t", "value": "v"} in info["tags"]
    assert body["model"]["data"]["params"] == [{"key": "p", "value": "1"}]
    r = requests.patch(
        f"{server.url}{API}/{model.model_id}", json={"status": "LOGGED_MODEL_READY"}, timeout=10
    )
    assert r.json()["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    # Also under /ajax-api, as the MLflow UI calls it.
    assert requests.get(f"{server.url}/ajax-api/2.0/mlflow/logged-models/{model.model_id}", timeout=10).ok


# -- search --------------------------------------------------------------------------------


@pytest.fixture
def four_models(experiment):
    specs = [
        ("alpha", {"lr": "0.1"}, {"team": "a"}, "clf"),
        ("beta", {"lr": "0.2"}, {"team": "b"}, "clf"),
        ("gamma", {"lr": "0.3"}, {"team": "a"}, "reg"),
        ("delta", {"lr": "0.4"}, {}, "reg"),
    ]
    models = [mlflow.initialize_logged_model(name=n, params=p, tags=t, model_type=k) for n, p, t, k in specs]
    mlflow.finalize_logged_model(models[1].model_id, "READY")
    mlflow.finalize_logged_model(models[2].model_id, "FAILED")
    return models


def _names(**kwargs) -> list[str]:
    return [m.name for m in mlflow.search_logged_models(output_format="list", **kwargs)]


def test_search_filters(four_models):
    assert _names() == ["delta", "gamma", "beta", "alpha"]  # newest first
    assert _names(filter_string="name = 'beta'") == ["beta"]
    assert _names(filter_string="name LIKE '%ta'") == ["delta", "beta"]
    assert _names(filter_string="status = 'READY'") == ["beta"]
    assert _names(filter_string="status IN ('READY', 'FAILED')") == ["gamma", "beta"]
    assert _names(filter_string="model_type = 'reg'") == ["delta", "gamma"]
    assert _names(filter_string="params.lr = '0.3'") == ["gamma"]
    assert _names(filter_string="params.lr = 0.3") == ["gamma"]  # bare numbers, as MLflow's docs write it
    assert _names(filter_string="tags.team = 'a'") == ["gamma", "alpha"]
    assert _names(filter_string="tags.team = 'a' AND model_type = 'clf'") == ["alpha"]
    assert _names(filter_string=f"model_id = '{four_models[3].model_id}'") == ["delta"]
    created = four_models[2].creation_timestamp
    assert set(_names(filter_string=f"creation_timestamp >= {created}")) >= {"gamma", "delta"}


def test_search_order_by_and_pandas(four_models):
    assert _names(order_by=[{"field_name": "name"}]) == ["alpha", "beta", "delta", "gamma"]
    assert _names(order_by=[{"field_name": "name", "ascending": False}]) == [
        "gamma",
        "delta",
        "beta",
        "alpha",
    ]
    assert _names(order_by=[{"field_name": "creation_time", "ascending": True}]) == [
        "alpha",
        "beta",
        "gamma",
        "delta",
    ]

    df = mlflow.search_logged_models(filter_string="model_type = 'clf'")
    assert sorted(df["name"]) == ["alpha", "beta"]
    assert set(df["status"]) == {LoggedModelStatus.PENDING, LoggedModelStatus.READY}
    assert {"model_id", "experiment_id", "artifact_location", "params", "tags"} <= set(df.columns)


def test_search_paging(four_models, client):
    eid = four_models[0].experiment_id
    seen, token = [], None
    while True:
        page = client.search_logged_models([eid], max_results=3, page_token=token)
        assert len(page) <= 3
        seen += [m.name for m in page]
        token = page.token
        if not token:
            break
    assert seen == ["delta", "gamma", "beta", "alpha"]
    assert _names(max_results=2) == ["delta", "gamma"]
    # A token only resumes the query that produced it.
    first = client.search_logged_models([eid], max_results=1)
    with pytest.raises(MlflowException) as err:
        client.search_logged_models([eid], filter_string="name = 'x'", max_results=1, page_token=first.token)
    assert _error_code(err) == "INVALID_PARAMETER_VALUE"


def test_search_bad_input(experiment, server):
    with pytest.raises(MlflowException) as err:
        mlflow.search_logged_models(filter_string="no_such_field = 1")
    assert _error_code(err) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as err:
        mlflow.search_logged_models(filter_string="name = ")
    assert _error_code(err) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as err:
        mlflow.search_logged_models(order_by=[{"field_name": "params.lr"}])
    assert _error_code(err) == "INVALID_PARAMETER_VALUE"

    url = f"{server.url}{API}/search"
    for body in (
        {},  # experiment_ids is required
        {"experiment_ids": ["not-a-number"]},
        {"experiment_ids": [experiment.experiment_id], "datasets": [{"dataset_digest": "abc"}]},
        {"experiment_ids": [experiment.experiment_id], "page_token": "garbage"},
        {"experiment_ids": [experiment.experiment_id], "max_results": -1},
    ):
        r = requests.post(url, json=body, timeout=10)
        assert (r.status_code, r.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), body


def test_create_bad_input(experiment, server, client):
    url = f"{server.url}{API}"
    r = requests.post(url, json={"name": "x"}, timeout=10)
    assert (r.status_code, r.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    r = requests.post(url, json={"experiment_id": "987654321"}, timeout=10)
    assert (r.status_code, r.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    with pytest.raises(MlflowException) as err:
        mlflow.initialize_logged_model(name="has/slash")
    assert _error_code(err) == "INVALID_PARAMETER_VALUE"

    model = mlflow.initialize_logged_model(name="fine")
    r = requests.patch(f"{url}/{model.model_id}", json={"status": "SHIPPED"}, timeout=10)
    assert (r.status_code, r.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert mlflow.get_logged_model(model.model_id).status == LoggedModelStatus.PENDING

    deleted = client.create_experiment(f"{experiment.name}-deleted")
    client.delete_experiment(deleted)
    with pytest.raises(MlflowException) as err:
        mlflow.initialize_logged_model(experiment_id=deleted)
    assert _error_code(err) == "INVALID_PARAMETER_VALUE"
    assert _names() == ["fine"]  # the refused calls left nothing behind


def test_models_stay_in_their_workspace(server, tracking_uri, unique):
    name = f"lm-ws-{unique}"
    requests.post(
        f"{server.url}/api/3.0/mlflow/workspaces", json={"name": name}, timeout=10
    ).raise_for_status()
    other = MlflowClient(f"{server.url}/w/{name}")
    mine = MlflowClient(tracking_uri)
    eid = mine.create_experiment(f"ws-home-{unique}")
    model = mine.create_logged_model(eid, name="private")

    with pytest.raises(MlflowException) as err:
        other.get_logged_model(model.model_id)
    assert _error_code(err) == "RESOURCE_DOES_NOT_EXIST"
    r = requests.patch(
        f"{server.url}/w/{name}{API}/{model.model_id}/tags",
        json={"tags": [{"key": "k", "value": "v"}]},
        timeout=10,
    )
    assert (r.status_code, r.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    r = requests.delete(f"{server.url}/w/{name}{API}/{model.model_id}", timeout=10)
    assert (r.status_code, r.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert list(other.search_logged_models([eid])) == []
    with pytest.raises(MlflowException) as err:
        other.create_logged_model(eid, name="sneaky")
    assert _error_code(err) == "RESOURCE_DOES_NOT_EXIST"
    kept = mine.get_logged_model(model.model_id)
    assert kept.tags.get("k") is None and kept.name == "private"


# -- with runs and artifacts (runs and artifact helpers' endpoints) -----------------------


def test_create_external_model(experiment):
    model = mlflow.create_external_model(name="external", params={"k": "v"})
    assert model.status == LoggedModelStatus.READY
    assert model.tags["mlflow.model.isExternal"] == "true"
    assert mlflow.get_logged_model(model.model_id).params == {"k": "v"}


def test_metrics_logged_against_models(experiment):
    import pandas as pd

    eval_df = mlflow.data.from_pandas(pd.DataFrame({"x": [1, 2, 3]}), name="eval")
    train_df = mlflow.data.from_pandas(pd.DataFrame({"x": [4, 5, 6, 7]}), name="train")
    with mlflow.start_run() as run:
        a = mlflow.initialize_logged_model(name="a")
        b = mlflow.initialize_logged_model(name="b")
        mlflow.log_metric("acc", 0.7, model_id=a.model_id, dataset=eval_df)
        mlflow.log_metric("acc", 0.95, model_id=a.model_id, dataset=train_df)
        mlflow.log_metric("acc", 0.8, model_id=b.model_id, dataset=eval_df)
        mlflow.log_metric("loss", math.nan, model_id=b.model_id)

    metrics = {(m.key, m.dataset_name): m for m in mlflow.get_logged_model(a.model_id).metrics}
    assert metrics[("acc", "eval")].value == 0.7
    assert metrics[("acc", "eval")].run_id == run.info.run_id
    assert metrics[("acc", "eval")].dataset_digest == eval_df.digest
    assert metrics[("acc", "train")].value == 0.95
    loss = [m for m in mlflow.get_logged_model(b.model_id).metrics if m.key == "loss"]
    assert len(loss) == 1 and math.isnan(loss[0].value)

    assert _names(filter_string="metrics.acc > 0.75") == ["b", "a"]  # a's train metric counts
    assert _names(filter_string="metrics.acc > 0.75", datasets=[{"dataset_name": "eval"}]) == ["b"]
    assert _names(datasets=[{"dataset_name": "train"}]) == ["a"]
    by_eval = [{"field_name": "metrics.acc", "ascending": False, "dataset_name": "eval"}]
    assert _names(order_by=by_eval) == ["b", "a"]


def test_sklearn_log_model_inside_a_run(experiment):
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    clf = LogisticRegression(C=1.0).fit(X, y)
    with mlflow.start_run() as run:
        mlflow.log_param("C", 1.0)
        mlflow.log_metric("train_acc", 1.0, step=0)
        info = mlflow.sklearn.log_model(clf, name="model")

    model = mlflow.get_logged_model(info.model_id)
    assert model.status == LoggedModelStatus.READY
    assert model.name == "model"
    assert model.source_run_id == run.info.run_id
    assert model.params["C"] == "1.0"
    assert [(m.key, m.value, m.run_id) for m in model.metrics] == [("train_acc", 1.0, run.info.run_id)]
    outputs = mlflow.get_run(run.info.run_id).outputs.model_outputs
    assert [o.model_id for o in outputs] == [info.model_id]
    found = mlflow.search_logged_models(
        filter_string=f"source_run_id = '{run.info.run_id}'", output_format="list"
    )
    assert [m.model_id for m in found] == [info.model_id]

    loaded = mlflow.sklearn.load_model(f"models:/{info.model_id}")
    assert list(loaded.predict(X)) == list(clf.predict(X))
