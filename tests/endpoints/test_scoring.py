"""Deploy a registered scikit-learn version and score it through the endpoint URL, every format."""

from __future__ import annotations

import pytest
import requests

from tests.endpoints.conftest import FEATURES, WS, rows

EP = "churn"


@pytest.fixture(scope="module")
def churn(world):
    world.api().ok("POST", "/2.0/runyard/endpoints", json={"name": EP})
    dep = world.deploy(EP, "blue", "models:/churn-model/1")
    assert dep["state"] == "ready", dep
    yield world
    world.api().ok("DELETE", f"/2.0/runyard/endpoints/{EP}")  # stops its scoring process


def _predictions(r: requests.Response) -> list:
    assert r.status_code == 200, r.text
    assert r.headers["X-Runyard-Deployment"] == "blue"
    return r.json()["predictions"]


def test_deployment_records_the_resolved_version(churn):
    ep = churn.api().ok("GET", f"/2.0/runyard/endpoints/{EP}")["endpoint"]
    assert ep["traffic"] == {"blue": 100}  # the first deployment takes all traffic
    assert ep["state"] == "ready"
    assert ep["scoring_uri"] == churn.scoring_url(EP)
    (dep,) = ep["deployments"]
    assert (dep["model_name"], dep["model_version"], dep["model_uri"]) == (
        "churn-model",
        "1",
        "models:/churn-model/1",
    )
    # The files were copied into the serving cache, under the workspace id.
    assert list(churn.serving_dir.glob("models/*/churn-model/1/MLmodel"))


@pytest.mark.parametrize(
    "payload",
    [
        {"dataframe_split": {"columns": FEATURES, "data": [[r[f] for f in FEATURES] for r in rows()]}},
        {"dataframe_records": rows()},
        {"instances": rows()},
        {"inputs": {f: [r[f] for r in rows()] for f in FEATURES}},
        {"input_data": rows()},
        {
            "input_data": {
                "columns": FEATURES,
                "index": [0, 1, 2],
                "data": [[r[f] for f in FEATURES] for r in rows()],
            }
        },
        {"dataframe_records": rows(), "params": {}},
    ],
    ids=[
        "dataframe_split",
        "dataframe_records",
        "instances",
        "inputs",
        "input_data",
        "input_data_table",
        "params",
    ],
)
def test_every_json_payload_format(churn, payload):
    assert len(_predictions(churn.score(EP, payload))) == 3


def test_csv_and_the_score_alias(churn):
    csv = ",".join(FEATURES) + "\n" + "\n".join(",".join(str(r[f]) for f in FEATURES) for r in rows())
    r = requests.post(
        churn.scoring_url(EP, suffix="score"),
        data=csv,
        headers={"Content-Type": "text/csv", "Authorization": f"Bearer {churn.reader}"},
        timeout=60,
    )
    assert len(_predictions(r)) == 3


def test_header_workspace_form(churn):
    r = requests.post(
        f"{churn.url}/endpoints/{EP}/invocations",
        json={"dataframe_records": rows(1)},
        headers={"Authorization": f"Bearer {churn.reader}", "X-MLFLOW-WORKSPACE": WS},
        timeout=60,
    )
    assert len(_predictions(r)) == 1


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"{not json", "application/json"),
        (b'{"no_such_format": []}', "application/json"),
        (
            b'{"dataframe_records": [{"tenure": "abc", "charges": 1, "calls": 1, "age": 1}]}',
            "application/json",
        ),
    ],
    ids=["malformed", "unknown-format", "schema-violation"],
)
def test_bad_payloads_are_clear_4xx(churn, body, content_type):
    r = churn.score(
        EP, data=body, headers={"Content-Type": content_type, "Authorization": f"Bearer {churn.reader}"}
    )
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error_code"] in {"BAD_REQUEST", "INVALID_PARAMETER_VALUE", "MALFORMED_REQUEST"}
    assert r.json()["message"]


def test_a_body_over_the_limit_is_413(churn):  # the server runs with --serving-max-body-mb 1
    big = b'{"dataframe_records": [' + b"0," * 600_000 + b"0]}"
    auth = {"Authorization": f"Bearer {churn.reader}", "Content-Type": "application/json"}
    for data in (big, iter([big[:700_000], big[700_000:]])):  # with and without Content-Length
        r = requests.post(churn.scoring_url(EP), data=data, headers=auth, timeout=60)
        assert r.status_code == 413 and r.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED", r.text


def test_unknown_endpoint_is_404(churn):
    r = churn.score("no-such-endpoint", {"dataframe_records": rows(1)})
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_deployment_logs_and_metrics_snapshot(churn):
    lines = churn.api(churn.reader).ok("GET", f"/2.0/runyard/endpoints/{EP}/deployments/blue/logs")["lines"]
    assert lines, "the scoring process logs something"
    snap = churn.api(churn.reader).ok("GET", f"/2.0/runyard/endpoints/{EP}/metrics")
    (blue,) = [d for d in snap["deployments"] if d["deployment"] == "blue" and not d["mirror"]]
    assert blue["request_count"] >= 12 and blue["requests_by_status"]["2xx"] >= 9


def test_updating_a_deployment_replaces_its_model(churn):
    body = {"model_uri": "models:/churn-model@challenger", "wait_seconds": 120}
    r = requests.patch(
        churn.api().url(f"/2.0/runyard/endpoints/{EP}/deployments/blue"),
        json=body,
        headers={"Authorization": f"Bearer {churn.owner}"},
        timeout=180,
    )
    assert r.status_code == 200, r.text
    dep = r.json()["deployment"]
    assert (dep["model_version"], dep["state"]) == ("2", "ready"), dep
    assert _predictions(churn.score(EP, {"dataframe_records": rows(2)})) == [7, 7]  # the constant model
