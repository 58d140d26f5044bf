"""Every route of the route table, checked against an auth-on server.

For each route in ``runyard.api.routes.routes()`` (so a new route is checked the day it is
added): no credential → 401 UNAUTHENTICATED unless the route is PUBLIC; a reader cannot
call WRITE/MANAGE/ADMIN routes (403); an owner of workspace A asking workspace B gets the
same 404 whether or not the named thing exists in B (and whether or not B exists); a
revoked token and an expired token are refused (401). Requests are minimal: the check
runs before the body is read.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from runyard.api.call import Access, Route
from runyard.api.routes import routes
from runyard.errors import error_body
from tests.support.auth import Api, AuthServer, fresh_backend

A, B, NOWHERE = "team-a", "team-b", "no-such-ws"
ROUTES = routes()
SCOPED = {Access.READ, Access.WRITE, Access.MANAGE}
ABOVE_READER = {Access.WRITE, Access.MANAGE, Access.ADMIN}


def _id(route: Route) -> str:
    return f"{route.method} {route.path}"


def _uniform_404(workspace: str) -> dict[str, str]:
    return error_body(
        "RESOURCE_DOES_NOT_EXIST", f"Workspace '{workspace}' does not exist or you do not have access to it."
    )


@dataclass
class World:
    srv: AuthServer
    reader: str  # tokens, by role in workspace A
    contributor: str
    owner: str
    revoked: str  # an admin's token, revoked
    expired: str  # a service principal's access token (lifetime 1 s)
    expired_at: float
    in_b: dict[str, Any]  # names and ids of things that exist in workspace B
    ghosts: dict[str, Any]  # the same keys, naming nothing

    def api(self, token: str | None, workspace: str | None = None) -> Api:
        return self.srv.api(token, workspace)


def _things_in_b(admin: Api) -> dict[str, Any]:
    b = admin.in_workspace(B)
    eid = b.ok("POST", "/2.0/mlflow/experiments/create", json={"name": "secret-exp"})["experiment_id"]
    run_id = b.ok("POST", "/2.0/mlflow/runs/create", json={"experiment_id": eid})["run"]["info"]["run_id"]
    b.ok("POST", "/2.0/mlflow/registered-models/create", json={"name": "secret-model"})
    b.ok("POST", "/2.0/mlflow/model-versions/create", json={"name": "secret-model", "source": "s3://b/m"})
    model_id = b.ok("POST", "/2.0/mlflow/logged-models", json={"experiment_id": eid, "name": "lm"})["model"][
        "info"
    ]["model_id"]
    path = f"{eid}/{run_id}/artifacts/secret.txt"
    r = b.request("PUT", f"/2.0/mlflow-artifacts/artifacts/{path}", data=b"secret")
    assert r.status_code == 200, r.text
    b.ok("POST", "/2.0/runyard/endpoints", json={"name": "secret-ep"})
    return {
        "experiment_id": eid,
        "experiment_ids": [eid],
        "experiment_name": "secret-exp",
        "run_id": run_id,
        "run_uuid": run_id,
        "name": "secret-model",
        "version": "1",
        "model_id": model_id,
        "path": path,
        "key": "k",
        "user_code": "BCDF-GHJK",
        "endpoint": "secret-ep",
        "deployment": "secret-dep",
    }


def _ghosts(in_b: dict[str, Any]) -> dict[str, Any]:
    ghost = dict(in_b)
    ghost.update(
        experiment_id="987654321",
        experiment_ids=["987654321"],
        experiment_name="ghost-exp",
        run_id="0" * 32,
        run_uuid="0" * 32,
        name="ghost-model",
        model_id="m-" + "0" * 32,
        path=f"987654321/{'0' * 32}/artifacts/ghost.txt",
        endpoint="ghost-ep",
        deployment="ghost-dep",
    )
    return ghost


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(request, tmp_path_factory) -> World:
    tmp = tmp_path_factory.mktemp(f"access-routes-{request.param}")
    with fresh_backend(request.param, tmp) as url:
        srv = AuthServer(url, tmp / "artifacts", "--access-token-ttl-s", "1")
        srv.start()
        try:
            admin = srv.admin
            admin.create_workspace(A)
            admin.create_workspace(B)
            tokens = {}
            for role in ("reader", "contributor", "owner"):
                tokens[role] = admin.add_user(f"{role}-a")
                admin.grant(A, f"{role}-a", role)
            revoked = admin.add_user("ex-admin", admin=True)
            assert srv.api(revoked).request("GET", "/2.0/runyard/me").status_code == 200  # now cached
            admin.ok("POST", "/2.0/runyard/tokens/revoke", json={"id": revoked.split("_")[2]})
            client_id, secret = admin.service_principal(A, "robot", "owner")
            grant = admin.client_credentials(client_id, secret).json()
            in_b = _things_in_b(admin)
            yield World(
                srv,
                tokens["reader"],
                tokens["contributor"],
                tokens["owner"],
                revoked,
                grant["access_token"],
                time.monotonic() + grant["expires_in"],
                in_b,
                _ghosts(in_b),
            )
        finally:
            srv.stop()


def _call(api: Api, route: Route, values: dict[str, Any], **kw: Any) -> requests.Response:
    """One minimal request for ``route``, naming the things in ``values``."""

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "name":  # /3.0/mlflow/workspaces/{name}
            return str(values.get("workspace", api.workspace or "default"))
        return str(values.get(name, "k"))

    path = re.sub(r"\{(\w+)(?::path)?\}", fill, route.path)
    if route.raw and route.method == "PUT":
        kw["data"] = b"x"
    elif route.method in ("GET", "DELETE") and not route.body_on_get:
        kw["params"] = {k: v for k, v in values.items() if k != "workspace"}
    else:
        kw["json"] = {k: v for k, v in values.items() if k != "workspace"}
    return api.request(route.method, path, **kw)


def _body(r: requests.Response) -> dict[str, Any]:
    assert r.headers.get("content-type", "").startswith("application/json"), r.text
    return r.json()


def _passed_the_check(r: requests.Response, workspace: str) -> bool:
    """Whatever the handler answered, the access check let the call through."""
    if r.status_code in (401, 403):
        return False
    is_json = r.headers.get("content-type", "").startswith("application/json")
    return not (r.status_code == 404 and is_json and r.json() == _uniform_404(workspace))


# -- no credential ------------------------------------------------------------------------
@pytest.mark.parametrize("route", ROUTES, ids=_id)
def test_no_credential_is_401_unless_public(world, route):
    for workspace in (None, B, NOWHERE):
        r = _call(world.api(None, workspace), route, world.ghosts)
        if route.access is Access.PUBLIC:
            assert r.status_code != 401, r.text
            continue
        assert r.status_code == 401, f"{workspace}: {r.status_code} {r.text}"
        assert _body(r)["error_code"] == "UNAUTHENTICATED"


# -- a reader cannot write ----------------------------------------------------------------
@pytest.mark.parametrize("route", ROUTES, ids=_id)
def test_reader_cannot_write(world, route):
    r = _call(world.api(world.reader, A), route, world.ghosts)
    if route.access in ABOVE_READER:
        assert r.status_code == 403, r.text
        body = _body(r)
        assert body["error_code"] == "PERMISSION_DENIED"
        if route.access is not Access.ADMIN:
            assert {"contributor", "owner"} & set(re.findall(r"\w+", body["message"])), body
    else:  # the control: a reader's own calls pass the check
        assert _passed_the_check(r, A), r.text


@pytest.mark.parametrize("route", [r for r in ROUTES if r.access is Access.MANAGE], ids=_id)
def test_contributor_cannot_manage(world, route):
    r = _call(world.api(world.contributor, A), route, world.ghosts)
    assert r.status_code == 403, r.text
    assert "owner" in _body(r)["message"]


# -- workspace A's owner learns nothing about workspace B ---------------------------------
@pytest.mark.parametrize("route", [r for r in ROUTES if r.access in SCOPED], ids=_id)
def test_outsider_gets_the_same_404_whether_or_not_things_exist(world, route):
    owner_of_a = world.api(world.owner)
    if route.workspace_param:  # the workspace is named in the path itself
        for ws in (B, NOWHERE):
            r = _call(owner_of_a, route, {**world.in_b, "workspace": ws})
            assert (r.status_code, _body(r)) == (404, _uniform_404(ws)), r.text
        return
    answers = []
    for values in (world.in_b, world.ghosts):
        answers.append(_call(owner_of_a.in_workspace(B), route, values))
        answers.append(_call(owner_of_a, route, values, headers={"X-MLFLOW-WORKSPACE": B}))
    for r in answers:
        assert (r.status_code, _body(r)) == (404, _uniform_404(B)), r.text
    r = _call(owner_of_a.in_workspace(NOWHERE), route, world.in_b)
    assert (r.status_code, _body(r)) == (404, _uniform_404(NOWHERE)), r.text
    # The control: in its own workspace the same token passes the check.
    assert _passed_the_check(_call(owner_of_a.in_workspace(A), route, world.ghosts), A)


# -- revoked and expired tokens -----------------------------------------------------------
@pytest.mark.parametrize("route", [r for r in ROUTES if r.access is not Access.PUBLIC], ids=_id)
def test_revoked_token_is_refused(world, route):
    r = _call(world.api(world.revoked, A), route, world.ghosts)
    assert r.status_code == 401, r.text
    body = _body(r)
    assert body["error_code"] == "UNAUTHENTICATED" and "revoked" in body["message"]


@pytest.mark.parametrize("route", [r for r in ROUTES if r.access is not Access.PUBLIC], ids=_id)
def test_expired_token_is_refused(world, route):
    time.sleep(max(0.0, world.expired_at - time.monotonic() + 0.05))
    r = _call(world.api(world.expired, A), route, world.ghosts)
    assert r.status_code == 401, r.text
    body = _body(r)
    assert body["error_code"] == "UNAUTHENTICATED" and "expired" in body["message"]


def test_every_route_declares_its_access():
    assert all(isinstance(r.access, Access) for r in ROUTES)
    # Only the capability document, the OpenAPI document, the token endpoints and the
    # presigned multipart part upload are open to anonymous callers.
    public = {_id(r) for r in ROUTES if r.access is Access.PUBLIC}
    assert public == {
        "GET /3.0/mlflow/server-info",
        "GET /openapi.json",
        "PUT /2.0/mlflow-artifacts/mpu/upload/{path:path}",
        "POST /2.0/runyard/oauth/token",
        "POST /2.0/runyard/oauth/device/code",
    }
