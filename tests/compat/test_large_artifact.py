"""A 200 MB artifact through the stock client, both ways, with the server's memory flat.

Once as MLflow sends a file of that size by default (one streamed PUT: the client only
switches to multipart from 500 MB), once through multipart upload (thresholds lowered with
MLflow's own environment variables).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository

from tests.support.memory import PeakRss

SIZE_MB = 200
MAX_GROWTH = 60 * 1024 * 1024


def random_file(path: Path, megabytes: int) -> str:
    """Write ``megabytes`` of random data in 1 MB chunks; return its sha256."""
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(megabytes):
            block = os.urandom(1024 * 1024)
            digest.update(block)
            f.write(block)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def round_trip(server, tmp_path: Path, name: str) -> None:  # noqa: ANN001
    big = tmp_path / f"{name}.bin"
    expected = random_file(big, SIZE_MB)
    mlflow.set_experiment(name)
    with mlflow.start_run() as run:
        mlflow.log_text("warm-up", "warmup.txt")  # first-request allocations are not growth
        started = time.monotonic()
        with PeakRss(server.proc.pid) as rss:
            mlflow.log_artifact(str(big), artifact_path="data")
            dst = tmp_path / "download"
            dst.mkdir()
            got = Path(MlflowClient().download_artifacts(run.info.run_id, f"data/{big.name}", str(dst)))
        elapsed = time.monotonic() - started
    big.unlink()
    [info] = MlflowClient().list_artifacts(run.info.run_id, "data")
    assert info.file_size == SIZE_MB * 1024 * 1024
    assert sha256_of(got) == expected
    assert rss.growth < MAX_GROWTH, f"server RSS grew by {rss.growth / 2**20:.0f} MB"
    assert elapsed < 60, f"the round trip took {elapsed:.0f} s"


@pytest.mark.slow
def test_200mb_artifact_streams_through_the_server(server, tracking_uri, tmp_path, unique):
    round_trip(server, tmp_path, f"large-{unique}")


@pytest.mark.slow
def test_200mb_artifact_through_multipart_upload(server, tracking_uri, tmp_path, unique, monkeypatch):
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(100 * 1024 * 1024))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(20 * 1024 * 1024))
    used: list[bool] = []
    original = MlflowArtifactsRepository._try_multipart_upload

    def spy(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        original(self, *args, **kwargs)
        used.append(True)

    monkeypatch.setattr(MlflowArtifactsRepository, "_try_multipart_upload", spy)
    round_trip(server, tmp_path, f"large-mpu-{unique}")
    assert used == [True]
