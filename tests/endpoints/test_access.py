"""Who may score and who may change an endpoint: keys, workspace tokens and roles."""

from __future__ import annotations

import pytest
import requests

from tests.endpoints.conftest import OTHER_WS, rows

EP = "guarded"
BODY = {"dataframe_records": rows(1)}


@pytest.fixture(scope="module")
def keys(world):
    body = world.api().ok("POST", "/2.0/runyard/endpoints", json={"name": EP})
    world.deploy(EP, "blue", "models:/churn-model@challenger")
    yield body["primary_key"], body["secondary_key"]
    for name in (EP, "other-keys"):
        world.api().request("DELETE", f"/2.0/runyard/endpoints/{name}")


def _with(world, headers, workspace=None):
    url = world.scoring_url(EP, **({"workspace": workspace} if workspace else {}))
    return requests.post(url, json=BODY, headers=headers, timeout=60)


def test_the_alias_was_resolved_and_recorded(world, keys):
    dep = world.api().ok("GET", f"/2.0/runyard/endpoints/{EP}/deployments/blue")["deployment"]
    assert (dep["model_version"], dep["model_uri"]) == ("2", "models:/churn-model@challenger")


def test_primary_and_secondary_keys_score(world, keys):
    primary, secondary = keys
    assert _with(world, {"Authorization": f"Bearer {primary}"}).status_code == 200
    assert _with(world, {"api-key": secondary}).status_code == 200  # Azure ML's header


def test_regenerating_a_key_invalidates_only_that_key(world, keys):
    primary, secondary = keys
    new = world.api().ok(
        "POST", f"/2.0/runyard/endpoints/{EP}/keys/regenerate", json={"key_type": "primary"}
    )["key"]
    assert new != primary
    r = _with(world, {"Authorization": f"Bearer {primary}"})
    assert r.status_code == 401 and r.json()["error_code"] == "UNAUTHENTICATED", r.text
    assert _with(world, {"Authorization": f"Bearer {new}"}).status_code == 200
    assert _with(world, {"api-key": secondary}).status_code == 200
    hints = world.api().ok("GET", f"/2.0/runyard/endpoints/{EP}/keys")
    assert hints["primary_key_hint"].endswith(new[-4:])
    entries = world.api().ok("GET", "/2.0/runyard/audit")["entries"]
    assert {"action": "endpoint.regenerate_key", "target": EP, "actor": "owner-a"} in [
        {k: e[k] for k in ("action", "target", "actor")} for e in entries
    ]


def test_a_key_of_another_endpoint_is_refused(world, keys):
    other = world.api().ok("POST", "/2.0/runyard/endpoints", json={"name": "other-keys"})["primary_key"]
    assert _with(world, {"Authorization": f"Bearer {other}"}).status_code == 401


def test_no_credential_is_401(world, keys):
    r = _with(world, {})
    assert r.status_code == 401 and r.json()["error_code"] == "UNAUTHENTICATED"


def test_reader_scores_but_cannot_change_traffic_or_keys(world, keys):
    assert _with(world, {"Authorization": f"Bearer {world.reader}"}).status_code == 200
    reader = world.api(world.reader)
    r = reader.request("PATCH", f"/2.0/runyard/endpoints/{EP}", json={"traffic": {"blue": 100}})
    assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED"
    assert reader.request("POST", f"/2.0/runyard/endpoints/{EP}/keys/regenerate", json={}).status_code == 403
    assert reader.request("GET", f"/2.0/runyard/endpoints/{EP}/keys").status_code == 403
    body = {"name": "sneaky", "model_uri": "models:/churn-model/1"}
    assert reader.request("POST", f"/2.0/runyard/endpoints/{EP}/deployments", json=body).status_code == 403


def test_contributor_deploys_but_cannot_route_traffic(world, keys):
    contributor = world.api(world.contributor)
    body = {"name": "green", "model_uri": "models:/churn-model/1"}
    assert (
        contributor.request("POST", f"/2.0/runyard/endpoints/{EP}/deployments", json=body).status_code == 200
    )
    ep = world.api().ok("GET", f"/2.0/runyard/endpoints/{EP}")["endpoint"]
    assert ep["traffic"] == {"blue": 100}  # a second deployment takes no traffic by itself
    r = contributor.request("PATCH", f"/2.0/runyard/endpoints/{EP}", json={"traffic": {"green": 100}})
    assert r.status_code == 403
    assert contributor.request("DELETE", f"/2.0/runyard/endpoints/{EP}/deployments/green").status_code == 200


def test_other_workspace_gets_the_uniform_404(world, keys):
    # The outsider owns team-b only; a team-a token asking team-b learns nothing either.
    for token, workspace in ((world.outsider, None), (world.owner, OTHER_WS)):
        r = _with(world, {"Authorization": f"Bearer {token}"}, workspace)
        assert r.status_code == 404, r.text
        assert r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
        assert "does not exist or you do not have access" in r.json()["message"]
    r = world.api(world.outsider).request("GET", f"/2.0/runyard/endpoints/{EP}")
    assert r.status_code == 404
    # And the endpoint's own key does not open another workspace's namesake.
    primary = keys[1]
    assert _with(world, {"api-key": primary}, OTHER_WS).status_code == 401
