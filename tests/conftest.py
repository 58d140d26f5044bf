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

from tests.support.auth import AuthServer
from tests.support.pg import backend_url
from tests.support.server import RunyardServer

# A 5xx must fail a test at once, not after the client's minutes of retries and backoff.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")


# RUNYARD_TEST_AUTH=on runs the same suite against an auth-on server, with the stock client
# authenticating through MLFLOW_TRACKING_TOKEN and raw HTTP calls carrying the same token.
# RUNYARD_TEST_AUTH=sp does the same with the Runyard plugin (MLFLOW_TRACKING_AUTH=runyard) and a
# service principal's client id and secret, as a Spark job would; that principal is made a
# global admin because the suite also creates workspaces.
AUTH_MODE = os.environ.get("RUNYARD_TEST_AUTH", "").lower()
SP_MODE = AUTH_MODE == "sp"
AUTH_ON = SP_MODE or AUTH_MODE in {"1", "on", "true"}


@pytest.fixture(scope="session", autouse=AUTH_ON)
def _raw_requests_carry_the_token() -> Iterator[None]:
    if not AUTH_ON:
        yield
        return
    import requests

    original = requests.Session.request

    def with_token(self, method, url, *args, **kwargs):  # noqa: ANN001, ANN202
        headers = kwargs.pop("headers", None) or {}
        token = os.environ.get("RUNYARD_TEST_ADMIN_TOKEN")
        # A request that brings its own auth (the Runyard plugin, in SP mode) keeps it.
        own_auth = kwargs.get("auth") is not None or "Authorization" in headers or "authorization" in headers
        if token and not own_auth:
            headers = {**headers, "Authorization": f"Bearer {token}"}
        return original(self, method, url, *args, headers=headers, **kwargs)

    requests.Session.request = with_token  # type: ignore[method-assign]
    yield
    requests.Session.request = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _mlflow_uris_do_not_leak() -> Iterator[None]:
    """mlflow.set_tracking_uri()/set_registry_uri() also export MLFLOW_*_URI for child processes
    and keep the URI in a module global: a test must not leave either pointing at a server that
    a later test will find stopped. Whatever a test changes is put back as it found it."""
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    environ = {name: os.environ.get(name) for name in names}
    registry, tracking = registry_utils._registry_uri, tracking_utils._tracking_uri
    yield
    for name, value in environ.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    registry_utils._registry_uri, tracking_utils._tracking_uri = registry, tracking


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty metadata database URL, once per backend for the whole session."""
    with backend_url(request.param, tmp_path_factory.mktemp(f"db-{request.param}")) as url:
        yield url


@pytest.fixture(scope="session")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunyardServer]:
    """A real ``runyard server`` process, shared by the tests of one backend."""
    if AUTH_ON:
        srv: RunyardServer = AuthServer(backend, tmp_path_factory.mktemp("artifacts"))
    else:
        srv = RunyardServer(backend, tmp_path_factory.mktemp("artifacts"))
    srv.start()
    if AUTH_ON:
        os.environ["RUNYARD_TEST_ADMIN_TOKEN"] = srv.admin.token  # type: ignore[attr-defined]
    if SP_MODE:
        # No cached `runyard login` may stand in for the service principal.
        os.environ["RUNYARD_HOME"] = str(tmp_path_factory.mktemp("runyard-home"))
        admin = srv.admin  # type: ignore[attr-defined]
        client_id, secret = admin.service_principal("default", "compat-suite", "owner")
        admin.ok("PATCH", "/2.0/runyard/users", json={"name": "default/compat-suite", "admin": True})
        srv.sp_credentials = (client_id, secret)  # type: ignore[attr-defined]
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def tracking_uri(server: RunyardServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the stock mlflow client at the server (and nothing else)."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    if SP_MODE:
        client_id, secret = server.sp_credentials  # type: ignore[attr-defined]
        monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "runyard")
        monkeypatch.setenv("RUNYARD_CLIENT_ID", client_id)
        monkeypatch.setenv("RUNYARD_CLIENT_SECRET", secret)
        monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    elif AUTH_ON:
        # The stock client re-reads this on every request: no plugin involved.
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server.admin.token)  # type: ignore[attr-defined]
    else:
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
