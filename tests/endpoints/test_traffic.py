"""Traffic split, pinning, mirroring and validation of an endpoint with two deployments."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.endpoints.conftest import rows

EP = "split"
BODY = {"dataframe_records": rows(1)}


@pytest.fixture(scope="module")
def split(world):
    world.api().ok("POST", "/2.0/runyard/endpoints", json={"name": EP})
    world.deploy(EP, "blue", "models:/churn-model/1", wait=0)
    world.deploy(EP, "green", "models:/churn-model/2", wait=0)  # both start at once
    world.wait_ready(EP)
    yield world
    world.api().ok("DELETE", f"/2.0/runyard/endpoints/{EP}")


def _traffic(world, **body):
    return world.api().request("PATCH", f"/2.0/runyard/endpoints/{EP}", json=body)


def _count(world, n: int, headers: dict | None = None) -> Counter:
    session = requests.Session()
    hdrs = {"Authorization": f"Bearer {world.reader}", **(headers or {})}

    def one(_: int) -> str:
        r = session.post(world.scoring_url(EP), json=BODY, headers=hdrs, timeout=60)
        assert r.status_code == 200, r.text
        return r.headers["X-Runyard-Deployment"]

    with ThreadPoolExecutor(8) as pool:
        return Counter(pool.map(one, range(n)))


def test_90_10_split(split):
    assert _traffic(split, traffic={"blue": 90, "green": 10}).status_code == 200
    split.wait_ready(EP)
    seen = _count(split, 400)
    # Binomial(400, 0.1): mean 40, sd 6; 16..70 is more than 4 sd either side.
    assert 16 <= seen["green"] <= 70, seen
    assert seen["blue"] + seen["green"] == 400


def test_pinning_header_bypasses_the_split(split):
    assert _count(split, 20, {"X-Runyard-Deployment": "green"}) == Counter(green=20)
    assert _count(split, 5, {"azureml-model-deployment": "blue"}) == Counter(blue=5)
    r = split.score(
        EP, BODY, headers={"Authorization": f"Bearer {split.reader}", "X-Runyard-Deployment": "nope"}
    )
    assert r.status_code == 404, r.text


def _mirrored_to(world, deployment: str) -> int:
    snap = world.api().ok("GET", f"/2.0/runyard/endpoints/{EP}/metrics")
    return sum(
        d["request_count"] for d in snap["deployments"] if d["deployment"] == deployment and d["mirror"]
    )


def test_mirroring_copies_without_answering(split):
    assert _traffic(split, traffic={"blue": 100}, mirror={"green": 50}).status_code == 200
    before = _mirrored_to(split, "green")
    seen = _count(split, 100)
    assert seen == Counter(blue=100)  # answers only ever come from live traffic
    deadline = time.monotonic() + 10
    while _mirrored_to(split, "green") - before < 25 and time.monotonic() < deadline:
        time.sleep(0.1)
    copied = _mirrored_to(split, "green") - before
    assert 25 <= copied <= 75, copied  # Binomial(100, 0.5)
    assert _traffic(split, mirror={"green": 0}).status_code == 200


@pytest.mark.parametrize(
    "body, words",
    [
        ({"traffic": {"blue": 90, "green": 20}}, "add up to 110"),
        ({"traffic": {"blue": 100, "nope": 0}}, "no deployment 'nope'"),
        ({"traffic": {"blue": -10, "green": 110}}, "0 to 100"),
        ({"traffic": {"blue": 50.5, "green": 49.5}}, "whole percents"),
        ({"traffic": {"blue": 100}, "mirror": {"blue": 10}}, "already takes live traffic"),
    ],
)
def test_invalid_traffic_is_refused_with_the_reason(split, body, words):
    r = _traffic(split, **body)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", r.text
    assert words in r.json()["message"]


def test_a_deployment_with_traffic_cannot_be_deleted(split):
    assert _traffic(split, traffic={"blue": 100}).status_code == 200
    r = split.api().request("DELETE", f"/2.0/runyard/endpoints/{EP}/deployments/blue")
    assert r.status_code == 400 and "takes traffic" in r.json()["message"]


def test_prometheus_metrics_show_request_counts(split):
    r = requests.get(
        f"{split.url}/metrics", headers={"Authorization": f"Bearer {split.srv.admin.token}"}, timeout=30
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    lines = [line for line in r.text.splitlines() if not line.startswith("#") and f'endpoint="{EP}"' in line]
    assert any('workspace="team-a"' in line and 'deployment="blue"' in line for line in lines), r.text[:2000]
    assert requests.get(f"{split.url}/metrics", timeout=30).status_code == 401
