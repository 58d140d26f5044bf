"""Workspaces: the /w/<name> prefix, mlflow.set_workspace(), and nothing crossing between them."""

from __future__ import annotations

import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


@pytest.fixture
def two_workspaces(tracking_uri, unique):
    a, b = f"team-a-{unique}", f"team-b-{unique}"
    mlflow.create_workspace(a, description="first")
    mlflow.create_workspace(b)
    return a, b


def test_create_list_get_workspace(two_workspaces):
    a, b = two_workspaces
    names = {w.name for w in mlflow.list_workspaces()}
    assert {"default", a, b} <= names
    assert mlflow.get_workspace(a).description == "first"


def test_same_experiment_name_in_two_workspaces_is_two_experiments(server, two_workspaces):
    a, b = two_workspaces
    ca = MlflowClient(f"{server.url}/w/{a}")
    cb = MlflowClient(f"{server.url}/w/{b}")
    ea = ca.create_experiment("shared-name")
    eb = cb.create_experiment("shared-name")
    assert ea != eb
    # Each workspace sees only its own; the other's id is simply not there.
    with pytest.raises(MlflowException) as err:
        ca.get_experiment(eb)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert [e.experiment_id for e in ca.search_experiments() if e.name == "shared-name"] == [ea]
    # Every workspace has its own Default experiment with id 0.
    assert ca.get_experiment("0").name == cb.get_experiment("0").name == "Default"


def test_experiments_name_their_workspace(server, two_workspaces):
    # The /w/<name> prefix sets no active workspace in the client: the experiment says its own.
    a, _ = two_workspaces
    client = MlflowClient(f"{server.url}/w/{a}")
    eid = client.create_experiment("says-where")
    assert client.get_experiment(eid).workspace == a
    assert client.get_experiment_by_name("says-where").workspace == a
    assert {e.workspace for e in client.search_experiments()} == {a}
    assert MlflowClient(server.url).get_experiment("0").workspace == "default"


def test_set_workspace_header(tracking_uri, two_workspaces, unique):
    a, _ = two_workspaces
    mlflow.set_workspace(a)
    try:
        eid = mlflow.create_experiment(f"via-header-{unique}")
    finally:
        mlflow.set_workspace(None)
    assert MlflowClient(f"{tracking_uri}/w/{a}").get_experiment(eid).name == f"via-header-{unique}"
    with pytest.raises(MlflowException):
        MlflowClient(tracking_uri).get_experiment(eid)


def test_unknown_workspace_is_404(server):
    r = requests.get(f"{server.url}/w/no-such-ws/api/2.0/mlflow/experiments/get?experiment_id=0", timeout=10)
    assert r.status_code == 404
    assert r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_invalid_workspace_name(server):
    r = requests.post(f"{server.url}/api/3.0/mlflow/workspaces", json={"name": "Bad Name!"}, timeout=10)
    assert r.status_code == 400
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_server_info_says_workspaces_enabled(server):
    info = requests.get(f"{server.url}/api/3.0/mlflow/server-info", timeout=10).json()
    assert info["workspaces_enabled"] is True
    assert info["store_type"] == "SqlStore"


def test_delete_workspace_refuses_one_with_content_and_deletes_an_empty_one(server, unique):
    base = f"{server.url}/api/3.0/mlflow/workspaces"
    for name in (f"full-{unique}", f"empty-{unique}"):
        assert requests.post(base, json={"name": name}, timeout=10).status_code == 201
    model = requests.post(
        f"{server.url}/w/full-{unique}/api/2.0/mlflow/registered-models/create",
        json={"name": "m"},
        timeout=10,
    )
    assert model.status_code == 200, model.text

    refused = requests.delete(f"{base}/full-{unique}", timeout=10)
    assert refused.status_code == 400
    assert refused.json()["error_code"] == "INVALID_STATE"
    assert "registered models" in refused.json()["message"]
    assert requests.get(f"{base}/full-{unique}", timeout=10).status_code == 200  # nothing changed

    assert requests.delete(f"{base}/empty-{unique}", timeout=10).status_code == 204
    assert requests.get(f"{base}/empty-{unique}", timeout=10).status_code == 404
