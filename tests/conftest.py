"""Fixtures shared by every test: real Runyard server processes on SQLite and PostgreSQL.

PostgreSQL tests use ``RUNYARD_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``
as the admin connection). In CI (``CI=true``) an unreachable PostgreSQL is a failure; elsewhere
those tests are skipped with the reason shown.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.support.pg import backend_url
from tests.support.server import RunyardServer

# A 5xx must fail a test at once, not after the client's minutes of retries and backoff.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty metadata database URL, once per backend for the whole session."""
    with backend_url(request.param, tmp_path_factory.mktemp(f"db-{request.param}")) as url:
        yield url


@pytest.fixture(scope="session")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunyardServer]:
    """A real ``runyard server`` process, shared by the tests of one backend."""
    srv = RunyardServer(backend, tmp_path_factory.mktemp("artifacts"))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def tracking_uri(server: RunyardServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the stock mlflow client at the server (and nothing else)."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    # Each test starts like a fresh script: no workspace and no active experiment left over
    # from another test (the fluent API keeps both in process state).
    mlflow.set_workspace(None)
    mlflow.tracking.fluent._active_experiment_id = None
    mlflow.set_tracking_uri(server.url)
    mlflow.set_registry_uri(server.url)
    yield server.url
    while mlflow.active_run():
        mlflow.end_run()


@pytest.fixture
def client(tracking_uri: str):  # noqa: ANN201
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


@pytest.fixture
def unique() -> str:
    """A short unique suffix so tests sharing one server never collide on names."""
    return uuid.uuid4().hex[:8]
