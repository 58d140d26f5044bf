"""A model that cannot load says why; deployments come back after a server restart."""

from __future__ import annotations

import json
import os

from tests.endpoints.conftest import rows

BODY = {"dataframe_records": rows(1)}


def test_a_model_that_cannot_load_reports_why(world):
    world.api().ok("POST", "/2.0/runyard/endpoints", json={"name": "broken"})
    dep = world.deploy("broken", "bad", "models:/broken-model/1", wait=90)
    assert dep["state"] == "failed", dep
    assert dep["message"] and "not a zip file" in dep["message"], dep
    ep = world.api().ok("GET", "/2.0/runyard/endpoints/broken")["endpoint"]
    assert ep["state"] == "failed" and "deployment 'bad' failed" in ep["message"]
    r = world.score("broken", BODY)
    assert r.status_code == 503, r.text
    world.api().ok("PATCH", "/2.0/runyard/endpoints/broken", json={"traffic": {}})
    world.api().ok("DELETE", "/2.0/runyard/endpoints/broken")


def test_bad_deployment_requests_say_what_is_allowed(world):
    world.api().ok("POST", "/2.0/runyard/endpoints", json={"name": "picky"})
    cases = [
        ({"name": "blue", "model_uri": "runs:/abc/model"}, 400, "models:/<name>/<version>"),
        ({"name": "blue", "model_uri": "models:/no-such-model/1"}, 404, "no-such-model"),
        ({"name": "blue", "model_uri": "models:/churn-model@nope"}, 400, "alias nope"),
        ({"name": "9lives", "model_uri": "models:/churn-model/1"}, 400, "starting with a letter"),
        (
            {"name": "blue", "model_uri": "models:/churn-model/1", "env_manager": "conda"},
            400,
            "local, virtualenv",
        ),
    ]
    for body, status, words in cases:
        r = world.api().request("POST", "/2.0/runyard/endpoints/picky/deployments", json=body)
        assert r.status_code == status and words in r.json()["message"], (body, r.text)
    r = world.api().request("POST", "/2.0/runyard/endpoints", json={"name": "picky"})
    assert r.status_code == 400 and r.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    world.api().ok("DELETE", "/2.0/runyard/endpoints/picky")


def test_deployments_survive_a_server_restart(world):
    world.api().ok("POST", "/2.0/runyard/endpoints", json={"name": "survivor"})
    world.deploy("survivor", "blue", "models:/churn-model/1")
    old_pid = _scoring_pid(world, "survivor")
    world.srv.stop()
    world.srv.start()
    world.wait_ready("survivor")
    assert world.score("survivor", BODY).status_code == 200
    new_pid = _scoring_pid(world, "survivor")
    assert new_pid != old_pid
    try:
        os.kill(old_pid, 0)
        raise AssertionError(f"the old scoring process {old_pid} outlived its server")
    except ProcessLookupError:
        pass
    world.api().ok("DELETE", "/2.0/runyard/endpoints/survivor")


def _scoring_pid(world, endpoint: str) -> int:
    (pid_file,) = world.serving_dir.glob(f"deployments/*.{endpoint}.blue/pid")
    return int(json.loads(pid_file.read_text())["pid"])
