"""End to end: log scikit-learn models, register them, alias one, load them back by
``models:/name/<version>`` and ``models:/name@alias`` and get the same predictions."""

from __future__ import annotations

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import requests
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1], [0.4, 0.6], [0.7, 0.2]])
Y = np.array([0, 1, 0, 1, 0, 1])


def _train(flip: bool) -> LogisticRegression:
    """Two models that disagree on every row, so a mix-up cannot go unnoticed."""
    return LogisticRegression().fit(X, 1 - Y if flip else Y)


def _log(model: LogisticRegression, experiment_id: str, registered_name: str):  # noqa: ANN202 - ModelInfo
    with mlflow.start_run(experiment_id=experiment_id):
        return mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name=registered_name,
            # Naming the requirements skips inferring them in a subprocess (slow, and not under test).
            pip_requirements=["scikit-learn"],
        )


def test_register_alias_and_load_back(server, tracking_uri, unique):
    client = MlflowClient()
    experiment_id = client.create_experiment(f"sklearn-{unique}")
    name = f"iris-ish-{unique}"
    first, second = _train(flip=False), _train(flip=True)

    info1 = _log(first, experiment_id, name)
    info2 = _log(second, experiment_id, name)
    assert (info1.registered_model_version, info2.registered_model_version) == ("1", "2")

    client.set_registered_model_alias(name, "champion", 2)
    v2 = client.get_model_version(name, 2)
    assert v2.run_id == info2.run_id
    assert v2.aliases == ["champion"]
    # The version remembers the logged model it came from and points at its files.
    raw = requests.get(
        f"{server.url}/api/2.0/mlflow/model-versions/get", params={"name": name, "version": "2"}, timeout=30
    ).json()["model_version"]
    assert raw["model_id"] == info2.model_id
    assert (
        client.get_model_version_download_uri(name, 2)
        == client.get_logged_model(info2.model_id).artifact_location
    )

    loaded_v1 = mlflow.sklearn.load_model(f"models:/{name}/1")
    np.testing.assert_array_equal(loaded_v1.predict(X), first.predict(X))
    np.testing.assert_allclose(loaded_v1.predict_proba(X), first.predict_proba(X))

    champion = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    np.testing.assert_array_equal(champion.predict(X), second.predict(X))
    latest = mlflow.pyfunc.load_model(f"models:/{name}/latest")
    np.testing.assert_array_equal(latest.predict(X), second.predict(X))


def test_same_model_name_in_two_workspaces(server, tracking_uri, unique):
    a, b = f"sk-a-{unique}", f"sk-b-{unique}"
    for ws in (a, b):
        r = requests.post(f"{server.url}/api/3.0/mlflow/workspaces", json={"name": ws}, timeout=30)
        assert r.status_code in (200, 201), r.text
    models = {a: _train(flip=False), b: _train(flip=True)}

    def use(ws: str) -> None:
        mlflow.set_tracking_uri(f"{server.url}/w/{ws}")
        mlflow.set_registry_uri(f"{server.url}/w/{ws}")

    try:
        for ws, model in models.items():
            use(ws)
            experiment_id = MlflowClient().create_experiment("shared-experiment")
            assert _log(model, experiment_id, "shared-model").registered_model_version == "1"

        for ws, model in models.items():
            use(ws)
            loaded = mlflow.pyfunc.load_model("models:/shared-model/1")
            np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
            assert [mv.version for mv in MlflowClient().search_model_versions("name = 'shared-model'")] == [
                "1"
            ]
    finally:
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
