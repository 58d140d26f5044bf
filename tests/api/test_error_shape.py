"""One error shape everywhere: MLflow's {"error_code", "message"}, classified as MLflow 3
classifies it ("sqlstate", "error_class"), with MLflow's HTTP statuses."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from runyard.app import create_app
from runyard.config import Settings


@pytest.fixture(scope="module")
def http(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shape")
    app = create_app(
        Settings.load(
            {"backend_store_uri": f"sqlite:///{tmp / 'db.sqlite'}", "artifacts_destination": str(tmp / "a")}
        )
    )
    with TestClient(app) as client:
        yield client


# What `mlflow server` 3.x sends with each code; MALFORMED_REQUEST it leaves unclassified.
CLASSIFIED = {
    "INVALID_PARAMETER_VALUE": ("KAM00", "INVALID_PARAMETER_VALUE"),
    "RESOURCE_DOES_NOT_EXIST": ("KAM00", "RESOURCE_NOT_FOUND"),
    "ENDPOINT_NOT_FOUND": ("KAM00", "RESOURCE_NOT_FOUND"),
}


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code
    assert body["message"]
    if code in CLASSIFIED:
        assert set(body) == {"error_code", "message", "sqlstate", "error_class"}
        assert (body["sqlstate"], body["error_class"]) == CLASSIFIED[code]
    else:
        assert set(body) == {"error_code", "message"}
    return body


@pytest.mark.parametrize("prefix", ["/api", "/ajax-api", "/w/default/api", "/w/default/ajax-api"])
def test_every_prefix_serves_the_same_api(http, prefix):
    r = http.get(f"{prefix}/2.0/mlflow/experiments/get", params={"experiment_id": "0"})
    assert r.status_code == 200
    assert r.json()["experiment"]["name"] == "Default"


def test_malformed_json(http):
    r = http.post("/api/2.0/mlflow/experiments/create", content=b"{not json")
    _assert_error(r, 400, "MALFORMED_REQUEST")


def test_wrong_type(http):
    r = http.post("/api/2.0/mlflow/experiments/create", json={"name": ["a", "list"]})
    body = _assert_error(r, 400, "INVALID_PARAMETER_VALUE")
    assert "name" in body["message"]


def test_missing_required_field(http):
    body = _assert_error(
        http.post("/api/2.0/mlflow/experiments/create", json={}), 400, "INVALID_PARAMETER_VALUE"
    )
    assert "Missing value for required parameter 'name'" in body["message"]


def test_unknown_resource(http):
    r = http.get("/api/2.0/mlflow/experiments/get", params={"experiment_id": "424242"})
    _assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST")


def test_unknown_endpoint(http):
    _assert_error(http.get("/api/2.0/mlflow/no-such-thing"), 404, "ENDPOINT_NOT_FOUND")


def test_unknown_page(http):
    _assert_error(http.get("/no-such-page"), 404, "ENDPOINT_NOT_FOUND")


def test_wrong_method(http):
    _assert_error(http.get("/api/2.0/mlflow/experiments/create"), 405, "ENDPOINT_NOT_FOUND")


def test_double_encoded_json_from_old_clients(http):
    import json

    r = http.post(
        "/api/2.0/mlflow/experiments/create", content=json.dumps(json.dumps({"name": "old-client"}))
    )
    assert r.status_code == 200, r.text


def test_health_and_version(http):
    assert http.get("/health").text == "OK"
    from runyard import __version__

    assert http.get("/version").text == __version__
