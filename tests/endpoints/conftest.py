"""One auth-on Runyard server for the endpoint tests, with real scikit-learn model versions.

Workspace ``team-a`` holds registered model ``churn-model`` (version 1: a logistic regression,
version 2: a constant classifier, so answers tell the two apart; alias ``challenger`` → 2) and
``broken-model`` (version 1 has an MLmodel but unreadable model bytes). Users: ``owner-a``,
``contributor-a``, ``reader-a`` (roles in team-a) and ``outsider`` (owner of team-b only).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.auth import Api, AuthServer

WS, OTHER_WS = "team-a", "team-b"
FEATURES = ["tenure", "charges", "calls", "age"]


@dataclass
class World:
    srv: AuthServer
    serving_dir: Path
    owner: str  # tokens
    contributor: str
    reader: str
    outsider: str

    @property
    def url(self) -> str:
        return self.srv.url

    def api(self, token: str | None = None, workspace: str | None = WS) -> Api:
        return self.srv.api(token or self.owner, workspace)

    def scoring_url(self, endpoint: str, workspace: str = WS, suffix: str = "invocations") -> str:
        return f"{self.url}/w/{workspace}/endpoints/{endpoint}/{suffix}"

    def score(
        self, endpoint: str, body: Any = None, *, token: str | None = None, **kw: Any
    ) -> requests.Response:
        headers = dict(kw.pop("headers", {}))
        if "Authorization" not in headers and "api-key" not in headers:
            headers["Authorization"] = f"Bearer {token or self.reader}"
        if body is not None:
            kw["json"] = body
        return requests.post(self.scoring_url(endpoint), headers=headers, timeout=60, **kw)

    def wait_ready(self, endpoint: str, timeout: float = 90.0) -> dict[str, Any]:
        """The endpoint once every deployment with traffic is ready (fails on 'failed')."""
        deadline = time.monotonic() + timeout
        while True:
            ep = self.api().ok("GET", f"/2.0/runyard/endpoints/{endpoint}")["endpoint"]
            if ep["state"] == "ready" and all(d["state"] == "ready" for d in ep["deployments"]):
                return ep
            assert ep["state"] != "failed", ep
            assert time.monotonic() < deadline, f"endpoint {endpoint} not ready: {ep}"
            time.sleep(0.2)

    def deploy(self, endpoint: str, name: str, model_uri: str, wait: int = 120) -> dict[str, Any]:
        body = {"name": name, "model_uri": model_uri, "wait_seconds": wait}
        r = requests.post(  # Api's 30 s timeout is too short to wait for a model to load
            self.api().url(f"/2.0/runyard/endpoints/{endpoint}/deployments"),
            json=body,
            headers={"Authorization": f"Bearer {self.owner}"},
            timeout=wait + 60,
        )
        assert r.status_code == 200, r.text
        return r.json()["deployment"]


def rows(n: int = 3) -> list[dict[str, float]]:
    return [{f: float(i + j) for j, f in enumerate(FEATURES)} for i in range(n)]


def _register_models(tracking_uri: str, token: str, tmp: Path) -> None:
    import mlflow
    import numpy as np
    import pandas as pd
    from mlflow import MlflowClient
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression

    old = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN")}
    os.environ["MLFLOW_TRACKING_URI"], os.environ["MLFLOW_TRACKING_TOKEN"] = tracking_uri, token
    try:
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
        rng = np.random.default_rng(0)
        x = pd.DataFrame(rng.normal(size=(60, 4)) * 10, columns=FEATURES)
        y = (x["tenure"] > 0).astype(int)
        mlflow.set_experiment("endpoint-models")
        with mlflow.start_run():
            mlflow.sklearn.log_model(
                LogisticRegression().fit(x, y),
                name="model",
                registered_model_name="churn-model",
                input_example=x[:2],
            )
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(
                DummyClassifier(strategy="constant", constant=7).fit(x, np.full(60, 7)),
                name="model",
                registered_model_name="churn-model",
                input_example=x[:2],
            )
        client = MlflowClient()
        client.set_registered_model_alias("churn-model", "challenger", "2")
        # A version whose files look like a model but cannot be loaded.
        local = Path(mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp / "good")))
        broken = tmp / "broken"
        shutil.copytree(local, broken)
        (broken / "model.skops").write_bytes(b"this is not a model")
        with mlflow.start_run() as run:
            mlflow.log_artifacts(str(broken), "broken")
        client.create_registered_model("broken-model")
        client.create_model_version("broken-model", f"{run.info.artifact_uri}/broken", run_id=run.info.run_id)
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("endpoints")
    serving = tmp / "serving"
    srv = AuthServer(
        f"sqlite:///{tmp / 'runyard.db'}",
        tmp / "artifacts",
        "--serving-dir",
        str(serving),
        "--serving-max-body-mb",
        "1",
    )
    srv.start()
    try:
        admin = srv.admin
        admin.create_workspace(WS)
        admin.create_workspace(OTHER_WS)
        tokens = {}
        for role in ("owner", "contributor", "reader"):
            tokens[role] = admin.add_user(f"{role}-a")
            admin.grant(WS, f"{role}-a", role)
        outsider = admin.add_user("outsider")
        admin.grant(OTHER_WS, "outsider", "owner")
        _register_models(f"{srv.url}/w/{WS}", tokens["owner"], tmp)
        yield World(srv, serving, tokens["owner"], tokens["contributor"], tokens["reader"], outsider)
    finally:
        srv.stop()
