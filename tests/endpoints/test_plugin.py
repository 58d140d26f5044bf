"""MLflow's deployments API against Runyard: get_deploy_client("runyard://...") and the mlflow CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from mlflow.deployments import PredictionsResponse, get_deploy_client
from mlflow.exceptions import MlflowException

from tests.endpoints.conftest import FEATURES, WS, rows


@pytest.fixture
def client(world, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", world.owner)
    return get_deploy_client(f"runyard://127.0.0.1:{world.srv.port}/w/{WS}")


def test_endpoint_and_deployments_through_mlflow(client):
    ep = client.create_endpoint("plug", config={"description": "via mlflow"})
    assert ep["name"] == "plug" and ep["primary_key"].startswith("ryk_")
    blue = client.create_deployment("blue", "models:/churn-model/1", endpoint="plug")
    assert blue["name"] == "blue" and blue["state"] == "ready"
    client.create_deployment(
        "green", "models:/churn-model@challenger", config={"env_manager": "local"}, endpoint="plug"
    )
    client.update_endpoint("plug", config={"traffic": {"blue": 0, "green": 100}})
    assert client.get_endpoint("plug")["traffic"] == {"green": 100}
    assert {d["name"] for d in client.list_deployments(endpoint="plug")} == {"blue", "green"}
    assert "plug" in {e["name"] for e in client.list_endpoints()}
    assert client.get_deployment("green", endpoint="plug")["model_version"] == "2"

    df = pd.DataFrame(rows(4), columns=FEATURES)
    answer = client.predict(inputs=df, endpoint="plug")
    assert isinstance(answer, PredictionsResponse)
    assert answer.get_predictions()[0].tolist() == [7, 7, 7, 7]  # green: the constant model
    pinned = client.predict(deployment_name="blue", inputs=df, endpoint="plug")
    assert len(pinned.get_predictions()) == 4 and set(pinned.get_predictions()[0]) <= {0, 1}

    client.update_endpoint("plug", config={"traffic": "blue=100"})  # the CLI's -C form
    client.delete_deployment("green", endpoint="plug")
    client.delete_deployment("green", endpoint="plug")  # idempotent, as MLflow asks
    assert [d["name"] for d in client.list_deployments(endpoint="plug")] == ["blue"]


def test_errors_are_mlflow_exceptions(client):
    with pytest.raises(MlflowException) as err:
        client.get_endpoint("no-such")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as err:
        client.create_deployment("x", "models:/churn-model/99", endpoint="plug")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_mlflow_deployments_cli(world, client):
    env = {**os.environ, "MLFLOW_TRACKING_TOKEN": world.owner}
    target = f"runyard://127.0.0.1:{world.srv.port}/w/{WS}"

    def mlflow(*args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "mlflow", "deployments", *args, "-t", target],
            capture_output=True, text=True, env=env, timeout=180,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        return out.stdout

    # Each call starts a Python that imports mlflow: two calls cover listing and scoring.
    assert "'blue'" in mlflow("list", "--endpoint", "plug")
    payload = world.srv.log_path.parent / "payload.json"
    payload.write_text(json.dumps(rows(2)))
    assert "predictions" in mlflow("predict", "--endpoint", "plug", "--input-path", str(payload))
    client.delete_endpoint("plug")
    client.delete_endpoint("plug")  # idempotent
    assert "plug" not in {e["name"] for e in client.list_endpoints()}


def test_the_plugin_imports_nothing_of_the_server():
    code = "import json, sys, runyard.client.deployments; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    server = ("runyard.api", "runyard.services", "runyard.store", "runyard.app", "runyard.serving", "alembic")
    assert [m for m in json.loads(out) if m.startswith(server)] == []
