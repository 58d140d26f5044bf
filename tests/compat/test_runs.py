"""Runs through the stock mlflow client: lifecycle, names, nesting, inputs and outputs."""

from __future__ import annotations

import json
import re

import mlflow
import pandas as pd
import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import LoggedModelInput, LoggedModelOutput
from mlflow.exceptions import MlflowException


@pytest.fixture
def experiment_id(client, unique):
    return client.create_experiment(f"runs-{unique}")


def test_fluent_run_records_everything(tracking_uri, client, experiment_id):
    with mlflow.start_run(experiment_id=experiment_id, run_name="first-try") as run:
        mlflow.log_param("alpha", 0.5)
        mlflow.log_metric("rmse", 0.8, step=1)
        mlflow.set_tag("team", "vision")

    got = client.get_run(run.info.run_id)
    assert re.fullmatch(r"[0-9a-f]{32}", got.info.run_id)
    assert got.info.run_name == "first-try"
    assert got.info.status == "FINISHED"
    assert got.info.end_time >= got.info.start_time
    assert got.info.lifecycle_stage == "active"
    assert got.info.experiment_id == experiment_id
    exp = client.get_experiment(experiment_id)
    assert got.info.artifact_uri == f"{exp.artifact_location}/{got.info.run_id}/artifacts"
    assert got.data.params == {"alpha": "0.5"}
    assert got.data.metrics == {"rmse": 0.8}
    assert got.data.tags["team"] == "vision"
    assert got.data.tags["mlflow.runName"] == "first-try"
    # The client sends mlflow.user; the run's user_id comes from it.
    assert got.info.user_id == got.data.tags["mlflow.user"]


def test_generated_names_look_like_mlflow_names(client, experiment_id):
    names = {client.create_run(experiment_id).info.run_name for _ in range(5)}
    for name in names:
        assert re.fullmatch(r"[a-z]+-[a-z]+-\d{1,3}", name)
        assert len(name) <= 20
    assert len(names) > 1


def test_run_name_and_tag_stay_in_sync(client, experiment_id):
    run = client.create_run(experiment_id, tags={"mlflow.runName": "from-tag"})
    rid = run.info.run_id
    assert run.info.run_name == "from-tag"

    client.update_run(rid, name="renamed")
    got = client.get_run(rid)
    assert got.info.run_name == "renamed"
    assert got.data.tags["mlflow.runName"] == "renamed"

    client.set_tag(rid, "mlflow.runName", "via-tag")
    assert client.get_run(rid).info.run_name == "via-tag"


def test_conflicting_name_and_tag_are_refused(client, experiment_id):
    with pytest.raises(MlflowException) as err:
        client.create_run(experiment_id, run_name="a", tags={"mlflow.runName": "b"})
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "run_name='a'" in err.value.message


def test_update_status_and_end_time(client, experiment_id):
    rid = client.create_run(experiment_id).info.run_id
    assert client.get_run(rid).info.status == "RUNNING"
    client.set_terminated(rid, status="KILLED", end_time=1234)
    info = client.get_run(rid).info
    assert (info.status, info.end_time) == ("KILLED", 1234)


def test_nested_runs(tracking_uri, client, experiment_id):
    mlflow.set_experiment(experiment_id=experiment_id)
    with mlflow.start_run() as parent, mlflow.start_run(nested=True) as child:
        mlflow.log_param("depth", 1)
    got = client.get_run(child.info.run_id)
    assert got.data.tags["mlflow.parentRunId"] == parent.info.run_id
    children = client.search_runs([experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert [r.info.run_id for r in children] == [child.info.run_id]


def test_delete_and_restore(client, experiment_id):
    rid = client.create_run(experiment_id).info.run_id
    client.delete_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == "deleted"
    assert client.search_runs([experiment_id]) == []
    deleted = client.search_runs([experiment_id], run_view_type=mlflow.entities.ViewType.DELETED_ONLY)
    assert [r.info.run_id for r in deleted] == [rid]

    client.restore_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == "active"
    client.log_param(rid, "after", "restore")  # active again, so it can be logged to


def test_runs_of_deleted_experiment_cannot_be_created(client, unique):
    eid = client.create_experiment(f"gone-{unique}")
    client.delete_experiment(eid)
    with pytest.raises(MlflowException) as err:
        client.create_run(eid)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "active" in err.value.message


def test_log_input_with_pandas_dataset(tracking_uri, client, experiment_id):
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(frame, source="s3://bucket/train.parquet", name="train", targets="y")
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_input(dataset, context="training", tags={"split": "a"})
        mlflow.log_input(dataset, context="training")  # the same input twice is one input

    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    got = inputs[0]
    assert got.dataset.name == "train"
    assert got.dataset.digest == dataset.digest
    assert got.dataset.source_type == "s3"
    assert json.loads(got.dataset.source) == {"uri": "s3://bucket/train.parquet"}
    assert json.loads(got.dataset.schema)["mlflow_colspec"]
    assert json.loads(got.dataset.profile)["num_rows"] == 3
    assert {t.key: t.value for t in got.tags} == {"mlflow.data.context": "training", "split": "a"}

    found = client.search_runs([experiment_id], "dataset.name = 'train' AND dataset.context = 'training'")
    assert [r.info.run_id for r in found] == [run.info.run_id]
    (searched,) = found
    assert searched.inputs.dataset_inputs[0].dataset.digest == dataset.digest


def test_model_inputs_and_outputs(client, experiment_id, unique):
    rid = client.create_run(experiment_id).info.run_id
    client.log_inputs(rid, models=[LoggedModelInput(f"m-in-{unique}")])
    client.log_outputs(rid, [LoggedModelOutput(f"m-out-{unique}", step=3)])
    run = client.get_run(rid)
    assert [m.model_id for m in run.inputs.model_inputs] == [f"m-in-{unique}"]
    assert [(m.model_id, m.step) for m in run.outputs.model_outputs] == [(f"m-out-{unique}", 3)]
    (searched,) = client.search_runs([experiment_id])
    assert [m.model_id for m in searched.outputs.model_outputs] == [f"m-out-{unique}"]


def test_legacy_log_model_keeps_history_tag(server, client, experiment_id):
    rid = client.create_run(experiment_id).info.run_id
    for path in ("model", "model2"):
        model = {
            "artifact_path": path,
            "flavors": {"python_function": {"loader_module": "x", "config": {"big": "dropped"}}},
            "utc_time_created": "2024-01-01 00:00:00.000000",
            "run_id": rid,
            "signature": {"inputs": "[]"},
        }
        r = requests.post(
            f"{server.url}/api/2.0/mlflow/runs/log-model",
            json={"run_id": rid, "model_json": json.dumps(model)},
            timeout=10,
        )
        assert r.status_code == 200, r.text
    history = json.loads(client.get_run(rid).data.tags["mlflow.log-model.history"])
    assert [m["artifact_path"] for m in history] == ["model", "model2"]
    assert history[0]["flavors"] == {"python_function": {"loader_module": "x"}}
    assert "signature" not in history[0]


def test_runs_do_not_cross_workspaces(server, client, experiment_id, unique):
    mlflow.create_workspace(f"other-{unique}")
    other = MlflowClient(f"{server.url}/w/other-{unique}")
    rid = client.create_run(experiment_id).info.run_id
    with pytest.raises(MlflowException) as err:
        other.get_run(rid)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as err:
        other.log_param(rid, "k", "v")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    # Its Default experiment is its own: searching it never shows this workspace's runs.
    assert other.search_runs(["0", experiment_id]) == []


def test_get_and_search_via_get_requests(server, client, experiment_id):
    rid = client.create_run(experiment_id).info.run_id
    base = f"{server.url}/api/2.0/mlflow"
    got = requests.get(f"{base}/runs/get", params={"run_id": rid}, timeout=10).json()
    assert got["run"]["info"]["run_uuid"] == rid
    found = requests.get(f"{base}/runs/search", params={"experiment_ids": experiment_id}, timeout=10).json()
    assert [r["info"]["run_id"] for r in found["runs"]] == [rid]
    ajax = requests.get(f"{server.url}/ajax-api/2.0/mlflow/runs/get", params={"run_id": rid}, timeout=10)
    assert ajax.json()["run"]["info"]["run_id"] == rid
