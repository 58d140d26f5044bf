"""The stock mlflow client with the Runyard plugin (MLFLOW_TRACKING_AUTH=runyard) and a service
principal, against an auth-on server: what a Spark job does."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LinearRegression

from tests.support.auth import auth_server


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def srv(request, tmp_path_factory):
    with auth_server(request.param, tmp_path_factory.mktemp(f"plugin-{request.param}")) as s:
        yield s


def use(monkeypatch, uri: str, client_id: str, secret: str) -> None:
    """The environment a Spark executor gets through spark.executorEnv.*."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "runyard")
    monkeypatch.setenv("RUNYARD_CLIENT_ID", client_id)
    monkeypatch.setenv("RUNYARD_CLIENT_SECRET", secret)
    for name in ("MLFLOW_TRACKING_TOKEN", "RUNYARD_TOKEN", "MLFLOW_TRACKING_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)


@pytest.fixture
def job(srv, unique, monkeypatch, tmp_path):
    """A workspace and a contributor service principal; the environment set for it."""
    monkeypatch.setenv("RUNYARD_HOME", str(tmp_path / "home"))  # no cached login to fall back on
    ws = srv.workspace(f"spark-{unique}")
    client_id, secret = srv.service_principal(ws, "trainer", "contributor")
    uri = f"{srv.url}/w/{ws}"
    use(monkeypatch, uri, client_id, secret)
    yield uri
    while mlflow.active_run():
        mlflow.end_run()


def test_the_plugin_is_found_through_the_entry_point():
    from mlflow.tracking.request_auth.registry import fetch_auth

    from runyard.client.auth import RunyardAuth

    assert isinstance(fetch_auth("runyard"), RunyardAuth)


def test_tracking_runs_metrics_and_artifacts(job, tmp_path, unique):
    exp = mlflow.set_experiment(f"churn-{unique}")
    report = tmp_path / "report.txt"
    report.write_text("all good\n")
    with mlflow.start_run() as run:
        mlflow.log_param("alpha", 0.1)
        for step in range(5):
            mlflow.log_metric("rmse", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"mae": 0.3, "r2": 0.9})
        mlflow.set_tag("team", "a")
        mlflow.log_artifact(str(report), artifact_path="reports")
        mlflow.log_dict({"k": 1}, "config.json")

    client = MlflowClient()
    got = client.get_run(run.info.run_id)
    assert got.data.params == {"alpha": "0.1"}
    assert got.data.metrics["rmse"] == pytest.approx(0.2)
    assert got.data.tags["team"] == "a"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "rmse")] == list(range(5))
    found = mlflow.search_runs([exp.experiment_id], filter_string="metrics.r2 > 0.5", output_format="list")
    assert [r.info.run_id for r in found] == [run.info.run_id]
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == {"reports", "config.json"}
    local = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="reports/report.txt")
    assert Path(local).read_text() == "all good\n"


def test_model_registry_log_register_load(job, unique):
    x = np.arange(10, dtype=float).reshape(-1, 1)
    model = LinearRegression().fit(x, 2 * x.ravel() + 1)
    name = f"churn-model-{unique}"
    mlflow.set_experiment(f"registry-{unique}")
    with mlflow.start_run():
        mlflow.sklearn.log_model(model, name="model", registered_model_name=name)
    client = MlflowClient()
    client.set_registered_model_alias(name, "champion", "1")
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    assert loaded.predict(np.array([[3.0]]))[0] == pytest.approx(7.0)
    assert [m.name for m in client.search_registered_models(filter_string=f"name = '{name}'")] == [name]


def test_a_reader_principal_cannot_write(srv, unique, monkeypatch, tmp_path):
    monkeypatch.setenv("RUNYARD_HOME", str(tmp_path / "home"))
    ws = srv.workspace(f"ro-{unique}")
    client_id, secret = srv.service_principal(ws, "dashboard", "reader")
    use(monkeypatch, f"{srv.url}/w/{ws}", client_id, secret)
    client = MlflowClient()
    assert client.get_experiment("0").name == "Default"  # reading works
    with pytest.raises(MlflowException) as err:
        client.create_experiment(f"nope-{unique}")
    assert err.value.error_code == "PERMISSION_DENIED"


def test_a_principal_sees_nothing_of_another_workspace(srv, job, unique, monkeypatch):
    other = srv.workspace(f"other-{unique}")
    # Same credentials, pointed at a workspace the principal is not a member of.
    client = MlflowClient(f"{srv.url}/w/{other}")
    with pytest.raises(MlflowException) as err:
        client.get_experiment("0")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as missing:
        MlflowClient(f"{srv.url}/w/no-such-{unique}").get_experiment("0")
    assert str(missing.value).replace("no-such-", "other-") == str(err.value)  # no hint which exists


def test_without_a_credential_the_server_says_how_to_sign_in(srv, job, monkeypatch):
    monkeypatch.delenv("RUNYARD_CLIENT_ID")
    monkeypatch.delenv("RUNYARD_CLIENT_SECRET")
    with pytest.raises(MlflowException) as err:
        MlflowClient().get_experiment("0")
    assert err.value.error_code == "UNAUTHENTICATED"


def test_no_plugin_personal_access_token(srv, unique, monkeypatch):
    """MLFLOW_TRACKING_TOKEN alone, no plugin: the stock client sends it as a bearer token."""
    pat = srv.ok("POST", "/2.0/runyard/tokens", json={"name": f"laptop-{unique}"})["secret"]
    monkeypatch.delenv("MLFLOW_TRACKING_AUTH", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", pat)
    client = MlflowClient(srv.url)
    eid = client.create_experiment(f"pat-{unique}")
    assert client.get_experiment(eid).name == f"pat-{unique}"
