"""Fuzz every route of the OpenAPI document with schemathesis: no input may cause a 5xx.

Runs against a real server process on SQLite (the PostgreSQL half of the suite covers the
same handlers); each operation gets a bounded number of generated requests.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.support.server import RunyardServer

EXAMPLES = int(os.environ.get("RUNYARD_FUZZ_EXAMPLES", "30"))


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    srv = RunyardServer(f"sqlite:///{tmp / 'fuzz.db'}", tmp / "artifacts")
    srv.start()
    yield srv
    srv.stop()


def test_openapi_document_lists_every_route(fuzz_server):
    import requests

    from runyard.api.routes import routes

    doc = requests.get(f"{fuzz_server.url}/api/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.")
    for route in routes():
        path = "/api" + route.path.replace(":path}", "}")
        assert route.method.lower() in doc["paths"][path], f"{route.method} {path} missing"


def test_no_input_causes_a_server_error(fuzz_server):
    schema = schemathesis.openapi.from_url(f"{fuzz_server.url}/api/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        _fuzz(result.ok(), fuzz_server.url, failures)
    assert failures == [], "\n".join(failures[:20])


def _fuzz(operation, base_url: str, failures: list[str]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        response = case.call(base_url=base_url, timeout=30)
        if response.status_code >= 500:
            failures.append(
                f"{operation.method.upper()} {operation.path}: {response.status_code} "
                f"{response.text[:200]} <- {case.as_curl_command()}"
            )

    check()
