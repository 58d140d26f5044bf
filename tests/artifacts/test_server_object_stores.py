"""End to end: a real ``runyard server`` storing artifacts in S3 (SeaweedFS) and Azure (Azurite).

The stock mlflow client logs a file, a multipart upload and a model, lists them with their
sizes, downloads them (proxied, and through presigned URLs) and loads the model back; the
bytes are checked in the store itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pytest
import requests
from mlflow import MlflowClient
from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository

from runyard.artifacts.base import ArtifactBackend, artifact_backend
from runyard.artifacts.object_store import configure
from tests.artifacts.conftest import BUCKET, CONTAINER, fresh_prefix
from tests.support.azurite import ACCOUNT
from tests.support.server import RunyardServer


@pytest.fixture(scope="module", params=["s3", "azure"])
def store_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """(server, destination URI, env the store needs) with the server on that store."""
    tmp = tmp_path_factory.mktemp(f"server-{request.param}")
    if request.param == "s3":
        store = request.getfixturevalue("seaweedfs")
        destination = f"s3://{BUCKET}/{fresh_prefix()}"
    else:
        store = request.getfixturevalue("azurite")
        destination = f"wasbs://{CONTAINER}@{ACCOUNT}.blob.core.windows.net/{fresh_prefix()}"
    env = store.env()
    # S3's endpoint comes by flag, Azure's connection string by variable: both paths are used.
    flags = ["--s3-endpoint-url", env.pop("RUNYARD_S3_ENDPOINT_URL")] if request.param == "s3" else []
    server = RunyardServer(
        f"sqlite:///{tmp / 'runyard.db'}",
        tmp / "unused-artifacts",
        "--artifacts-destination",  # the last occurrence of a flag wins
        destination,
        "--artifacts-presigned-downloads",
        *flags,
        env=env,
    )
    env = store.env()  # for reading the store from the test itself
    server.start()
    try:
        yield server, destination, env
    finally:
        server.stop()


@pytest.fixture
def on_server(store_server, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple]:
    server, destination, env = store_server
    # Proxied downloads unless a test says otherwise (the server also offers presigned ones).
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "false")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    mlflow.set_workspace(None)
    mlflow.tracking.fluent._active_experiment_id = None
    mlflow.set_tracking_uri(server.url)
    mlflow.set_registry_uri(server.url)
    yield server, destination, env
    while mlflow.active_run():
        mlflow.end_run()


@contextlib.contextmanager
def backend_of(destination: str, env: dict[str, str]) -> Iterator[ArtifactBackend]:
    """The store behind the server, opened here with the same settings."""
    configure(env.get("RUNYARD_S3_ENDPOINT_URL"), env.get("RUNYARD_AZURE_STORAGE_CONNECTION_STRING"))
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the AWS credentials of the test store
    try:
        yield artifact_backend(destination)
    finally:
        configure()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def in_store(destination: str, env: dict[str, str], path: str) -> bytes:
    """The bytes the server stored, read straight from the object store."""
    with backend_of(destination, env) as backend, backend.open_read(path) as stream:
        return stream.read_all()


def test_log_list_download_artifacts_and_a_model(on_server, tmp_path):
    _, destination, env = on_server
    from sklearn.linear_model import LinearRegression

    report = tmp_path / "report.txt"
    report.write_bytes(b"accuracy: 0.93\n" * 100)
    mlflow.set_experiment(f"object-store-{fresh_prefix()}")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(report), artifact_path="reports")
        mlflow.log_text("hello", "notes/hello.txt")
        model = LinearRegression().fit(np.array([[0.0], [1.0], [2.0]]), np.array([1.0, 3.0, 5.0]))
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
    client = MlflowClient()
    top = {a.path: a for a in client.list_artifacts(run.info.run_id)}
    assert set(top) == {"notes", "reports"}
    [listed] = client.list_artifacts(run.info.run_id, "reports")
    assert (listed.path, listed.file_size, listed.is_dir) == ("reports/report.txt", 1500, False)

    dst = tmp_path / "dl"
    dst.mkdir()
    got = Path(client.download_artifacts(run.info.run_id, "reports/report.txt", str(dst)))
    assert got.read_bytes() == report.read_bytes()
    assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/notes/hello.txt") == "hello"
    stored_path = f"{run.info.experiment_id}/{run.info.run_id}/artifacts/reports/report.txt"
    assert in_store(destination, env, stored_path) == report.read_bytes()

    loaded = mlflow.sklearn.load_model(info.model_uri)
    assert loaded.predict(np.array([[3.0]]))[0] == pytest.approx(7.0)


def test_multipart_upload_through_the_server(on_server, tmp_path, monkeypatch):
    _, destination, env = on_server
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(1_000_000))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(6 * 1024 * 1024))
    used: list[bool] = []
    original = MlflowArtifactsRepository._try_multipart_upload

    def spy(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        original(self, *args, **kwargs)
        used.append(True)

    monkeypatch.setattr(MlflowArtifactsRepository, "_try_multipart_upload", spy)
    big = tmp_path / "weights.bin"
    big.write_bytes(os.urandom(13 * 1024 * 1024 + 5))  # 6 + 6 MiB parts copied in the store, a short tail
    mlflow.set_experiment(f"object-store-mpu-{fresh_prefix()}")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(big), artifact_path="model")
    assert used == [True]
    [listed] = MlflowClient().list_artifacts(run.info.run_id, "model")
    assert listed.file_size == big.stat().st_size
    dst = tmp_path / "dl"
    dst.mkdir()
    got = Path(MlflowClient().download_artifacts(run.info.run_id, "model/weights.bin", str(dst)))
    assert hashlib.sha256(got.read_bytes()).digest() == hashlib.sha256(big.read_bytes()).digest()
    with backend_of(destination, env) as backend:  # complete cleaned up the staged parts
        assert list(backend._iter_keys(backend.prefix + ".runyard/uploads/")) == []


def test_presigned_downloads_skip_the_server(on_server, tmp_path, monkeypatch):
    server, _, _ = on_server
    monkeypatch.delenv("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD")  # as server-info says
    info = requests.get(f"{server.url}/api/3.0/mlflow/server-info", timeout=10).json()
    assert info["multipart_downloads_enabled"] is True
    monkeypatch.setenv("MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE", str(1024 * 1024))
    urls: list[str] = []
    original = MlflowArtifactsRepository._get_presigned_download_url

    def spy(self, remote_file_path):  # noqa: ANN001, ANN202
        response = original(self, remote_file_path)
        urls.append(response.url)
        return response

    monkeypatch.setattr(MlflowArtifactsRepository, "_get_presigned_download_url", spy)
    data = os.urandom(3 * 1024 * 1024 + 7)  # four ranges read straight from the store
    src = tmp_path / "blob.bin"
    src.write_bytes(data)
    mlflow.set_experiment(f"object-store-presigned-{fresh_prefix()}")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(src))
    dst = tmp_path / "dl"
    dst.mkdir()
    got = Path(MlflowClient().download_artifacts(run.info.run_id, "blob.bin", str(dst)))
    assert got.read_bytes() == data
    [url] = urls
    assert not url.startswith(server.url)  # the store's own address, signed
    assert requests.get(url, timeout=10, headers={"Range": "bytes=0-9"}).content == data[:10]
    r = requests.get(f"{server.url}/api/2.0/mlflow-artifacts/presigned/0/nope.bin", timeout=10)
    assert r.status_code == 404
