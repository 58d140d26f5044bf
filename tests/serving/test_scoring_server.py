"""The scoring process: every MLflow scoring payload, Azure ML's input_data, CSV, params, bad payloads."""

from __future__ import annotations

import json

import pytest
import requests

from tests.serving.conftest import IRIS_COLUMNS, Fleet

# Rows 0, 50 and 100 of iris: one of each class.
ROWS = [[5.1, 3.5, 1.4, 0.2], [7.0, 3.2, 4.7, 1.4], [6.3, 3.3, 6.0, 2.5]]
RECORDS = [dict(zip(IRIS_COLUMNS, r, strict=True)) for r in ROWS]
CSV = ",".join(IRIS_COLUMNS) + "\n" + "\n".join(",".join(map(str, r)) for r in ROWS) + "\n"
JSON = "application/json"

PAYLOADS = {
    "dataframe_split": {"dataframe_split": {"columns": IRIS_COLUMNS, "data": ROWS}},
    "dataframe_split_index": {"dataframe_split": {"columns": IRIS_COLUMNS, "index": [7, 8, 9], "data": ROWS}},
    "dataframe_records": {"dataframe_records": RECORDS},
    "instances": {"instances": RECORDS},
    "inputs_columns": {"inputs": {c: [r[i] for r in ROWS] for i, c in enumerate(IRIS_COLUMNS)}},
    "inputs_records": {"inputs": RECORDS},
    "input_data_records": {"input_data": RECORDS},
    "input_data_table": {"input_data": {"columns": IRIS_COLUMNS, "index": [0, 1, 2], "data": ROWS}},
}


def score(url: str, body: str | bytes, content_type: str | None = JSON) -> requests.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    return requests.post(f"{url}/invocations", data=body, headers=headers, timeout=30)


def test_ping_health_and_version(fleet: Fleet) -> None:
    url = fleet.url("blue")
    for path in ("/ping", "/health"):
        r = requests.get(url + path, timeout=5)
        assert r.status_code == 200 and r.json() == {"status": "ready"}
    version = requests.get(url + "/version", timeout=5).json()
    assert version["mlflow"] == "3.17.2" and version["runyard"]


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_every_json_payload_format_scores_the_same(fleet: Fleet, name: str) -> None:
    r = score(fleet.url("blue"), json.dumps(PAYLOADS[name]))
    assert r.status_code == 200, r.text
    assert r.json() == {"predictions": [0, 1, 2]}


@pytest.mark.parametrize("content_type", ["text/csv", "text/csv; charset=utf-8"])
def test_csv(fleet: Fleet, content_type: str) -> None:
    r = score(fleet.url("blue"), CSV, content_type)
    assert r.status_code == 200, r.text
    assert r.json() == {"predictions": [0, 1, 2]}


def test_params_reach_the_model(fleet: Fleet) -> None:
    url = fleet.url("slow")
    plain = score(url, json.dumps({"dataframe_split": {"columns": IRIS_COLUMNS, "data": ROWS[:2]}}))
    assert plain.json() == {"predictions": ["counted", "counted"]}
    with_params = {"dataframe_records": RECORDS[:1], "params": {"answer": "forty-two"}}
    assert score(url, json.dumps(with_params)).json() == {"predictions": ["forty-two"]}
    azure = {"input_data": RECORDS[:1], "params": {"answer": "azure"}}
    assert score(url, json.dumps(azure)).json() == {"predictions": ["azure"]}


def test_pandas_strings_are_stored_as_python_objects(fleet: Fleet) -> None:
    """pandas 3 would use Arrow; the scoring process sets Python storage (cheaper per request)."""
    body = {
        "dataframe_split": {"columns": IRIS_COLUMNS, "data": ROWS[:1]},
        "params": {"answer": "string-storage"},
    }
    assert score(fleet.url("slow"), json.dumps(body)).json() == {"predictions": ["python"]}


BAD = [
    # (body, content type, status, error_code, words the message must contain)
    ('{"dataframe_split": ', JSON, 400, "BAD_REQUEST", "not valid JSON"),
    ("[1, 2]", JSON, 400, "BAD_REQUEST", "got a list"),
    ('{"rows": [1]}', JSON, 400, "BAD_REQUEST", "found keys ['rows']"),
    (
        json.dumps({"dataframe_records": RECORDS, "instances": RECORDS}),
        JSON,
        400,
        "BAD_REQUEST",
        "exactly one",
    ),
    ('{"input_data": 3}', JSON, 400, "BAD_REQUEST", "'input_data' must be"),
    ('{"input_data": {"data": [], "rows": 1}}', JSON, 400, "BAD_REQUEST", "['rows']"),
    ('{"input_data": [], "extra": 1}', JSON, 400, "BAD_REQUEST", "only also carry 'params'"),
    (json.dumps({**PAYLOADS["dataframe_records"], "params": [1]}), JSON, 400, "BAD_REQUEST", "'params'"),
    (json.dumps({"dataframe_records": [{"sepal length (cm)": 1.0}]}), JSON, 400, None, "missing inputs"),
    (
        json.dumps({"dataframe_records": [dict.fromkeys(IRIS_COLUMNS, "tall")]}),
        JSON,
        400,
        "BAD_REQUEST",
        "could not convert string to float",
    ),
    ("a,b\n1,2\n", "text/csv", 400, None, "missing inputs"),
    ("x", "text/plain", 415, "BAD_REQUEST", "text/csv"),
    ("{}", None, 415, "BAD_REQUEST", "Content-Type"),
    ("  ", JSON, 400, "BAD_REQUEST", "empty request body"),
    ("{}", "application/json; charset=latin-1", 415, "BAD_REQUEST", "UTF-8"),
]


@pytest.mark.parametrize(("body", "content_type", "status", "code", "words"), BAD)
def test_bad_payloads_are_clear_client_errors(
    fleet: Fleet, body: str, content_type: str | None, status: int, code: str | None, words: str
) -> None:
    r = score(fleet.url("blue"), body, content_type)
    assert r.status_code == status, r.text
    err = r.json()
    assert set(err) == {"error_code", "message", "sqlstate", "error_class"}
    assert err["error_code"] == (code or err["error_code"])
    assert err["error_code"] in {"BAD_REQUEST", "INVALID_PARAMETER_VALUE"}
    assert words in err["message"]


def test_unknown_route_and_method(fleet: Fleet) -> None:
    url = fleet.url("blue")
    assert requests.get(url + "/invocations", timeout=5).status_code == 405
    assert requests.get(url + "/nope", timeout=5).status_code == 404
