"""Access control end to end on an auth-on server: what an admin, a data scientist and a
Spark job actually do. The stock mlflow client is used unchanged (MLFLOW_TRACKING_TOKEN);
service principals and device sign-in are driven over plain HTTP as any client would.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from tests.support.auth import Api, AuthServer, fresh_backend, printed_tokens
from tests.support.server import RunyardServer, free_port

TEAM_A, TEAM_B = "team-a", "team-b"
TOKEN_URL = "/api/2.0/runyard/oauth/token"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass
class Team:
    srv: AuthServer
    admin: Api
    ana: str  # contributor in team-a
    bob: str  # reader in team-a
    olga: str  # owner of team-a


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def team(request, tmp_path_factory) -> Team:
    tmp = tmp_path_factory.mktemp(f"access-flows-{request.param}")
    with fresh_backend(request.param, tmp) as url:
        srv = AuthServer(url, tmp / "artifacts")
        srv.start()
        try:
            admin = srv.admin
            admin.create_workspace(TEAM_A)
            admin.create_workspace(TEAM_B)
            tokens = {}
            for name, role in (("ana", "contributor"), ("bob", "reader"), ("olga", "owner")):
                tokens[name] = admin.add_user(name)
                admin.grant(TEAM_A, name, role)
            yield Team(srv, admin, tokens["ana"], tokens["bob"], tokens["olga"])
        finally:
            srv.stop()


def _mlflow_as(monkeypatch, token: str | None, uri: str) -> MlflowClient:
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    if token is None:
        monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    else:
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


# -- the stock client with a personal access token ---------------------------------------
def test_stock_client_with_a_personal_access_token(team, monkeypatch, tmp_path):
    uri = f"{team.srv.url}/w/{TEAM_A}"
    client = _mlflow_as(monkeypatch, team.ana, uri)
    eid = client.create_experiment("pat-flow")
    run = client.create_run(eid)
    run_id = run.info.run_id
    client.log_param(run_id, "alpha", "0.5")
    client.log_metric(run_id, "rmse", 0.25, step=1)
    client.log_text(run_id, "hello from ana", "notes/hello.txt")
    client.set_terminated(run_id)
    client.create_registered_model("pat-model")
    mv = client.create_model_version("pat-model", f"{run.info.artifact_uri}/notes", run_id=run_id)
    client.set_registered_model_alias("pat-model", "champion", mv.version)

    got = client.get_run(run_id)
    assert got.data.params == {"alpha": "0.5"} and got.data.metrics == {"rmse": 0.25}
    assert got.info.user_id  # the client sends one; the server falls back to the caller's name
    assert [a.path for a in client.list_artifacts(run_id, "notes")] == ["notes/hello.txt"]
    local = client.download_artifacts(run_id, "notes/hello.txt", str(tmp_path))
    with open(local) as f:
        assert f.read() == "hello from ana"
    assert client.get_model_version_by_alias("pat-model", "champion").run_id == run_id


def test_stock_client_without_or_with_a_bad_token_is_told_why(team, monkeypatch):
    uri = f"{team.srv.url}/w/{TEAM_A}"
    for token, says in ((None, "requires authentication"), ("ryd_pat_0123456789abcdef_nope", "not valid")):
        client = _mlflow_as(monkeypatch, token, uri)
        with pytest.raises(MlflowException) as err:
            client.search_experiments()
        assert err.value.error_code == "UNAUTHENTICATED"
        assert says in err.value.message


def test_reader_reads_but_cannot_write(team, monkeypatch):
    uri = f"{team.srv.url}/w/{TEAM_A}"
    eid = _mlflow_as(monkeypatch, team.ana, uri).create_experiment("for-readers")
    reader = _mlflow_as(monkeypatch, team.bob, uri)
    assert reader.get_experiment(eid).name == "for-readers"
    with pytest.raises(MlflowException) as err:
        reader.create_run(eid)
    assert err.value.error_code == "PERMISSION_DENIED"
    assert "contributor" in err.value.message


def test_other_workspace_is_invisible(team, monkeypatch):
    ana_b = _mlflow_as(monkeypatch, team.ana, f"{team.srv.url}/w/{TEAM_B}")
    with pytest.raises(MlflowException) as err:
        ana_b.search_experiments()
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    listed = team.srv.api(team.ana).ok("GET", "/3.0/mlflow/workspaces")["workspaces"]
    assert [w["name"] for w in listed] == [TEAM_A]
    everything = team.admin.ok("GET", "/3.0/mlflow/workspaces")["workspaces"]
    assert {w["name"] for w in everything} >= {"default", TEAM_A, TEAM_B}


def test_basic_auth_with_user_name_and_token(team, monkeypatch):
    uri = f"{team.srv.url}/w/{TEAM_A}"
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ana")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", team.ana)
    assert MlflowClient(uri).get_experiment("0").name == "Default"
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "bob")  # someone else's token
    with pytest.raises(MlflowException) as err:
        MlflowClient(uri).get_experiment("0")
    assert err.value.error_code == "UNAUTHENTICATED"


def test_me_and_personal_tokens(team):
    ana = team.srv.api(team.ana)
    me = ana.ok("GET", "/2.0/runyard/me")
    assert me == {
        "principal": {**me["principal"], "name": "ana", "kind": "user", "is_admin": False},
        "workspaces": [{"name": TEAM_A, "role": "contributor"}],
    }
    made = ana.ok("POST", "/2.0/runyard/tokens", json={"name": "laptop", "expires_in_days": 7})
    assert made["secret"].startswith("ryd_pat_") and made["token"]["name"] == "laptop"
    assert made["token"]["expires_at"] - made["token"]["creation_time"] == 7 * 86_400_000
    laptop = team.srv.api(made["secret"])
    assert laptop.ok("GET", "/2.0/runyard/me")["principal"]["name"] == "ana"
    listed = ana.ok("GET", "/2.0/runyard/tokens")["tokens"]
    assert {t["name"] for t in listed} == {"first", "laptop"}
    assert all(made["secret"] not in str(t) for t in listed)  # secrets are shown once only
    ana.ok("POST", "/2.0/runyard/tokens/revoke", json={"id": made["token"]["id"]})
    r = laptop.request("GET", "/2.0/runyard/me")
    assert r.status_code == 401 and "revoked" in r.json()["message"]
    # Someone else's token id is simply not found; only admins list every user's tokens.
    admin_tokens = team.admin.ok("GET", "/2.0/runyard/tokens")["tokens"]
    r = ana.request("POST", "/2.0/runyard/tokens/revoke", json={"id": admin_tokens[0]["id"]})
    assert r.status_code == 404
    assert ana.request("GET", "/2.0/runyard/tokens", params={"all": "true"}).status_code == 403
    everyone = team.admin.ok("GET", "/2.0/runyard/tokens", params={"all": "true"})["tokens"]
    assert {"admin", "ana", "bob"} <= {t["principal"] for t in everyone}
    bad = ana.request("POST", "/2.0/runyard/tokens", json={"name": "x", "expires_in_days": 0})
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"


# -- a service principal (the Spark job) over raw HTTP -----------------------------------
def test_service_principal_exchanges_its_secret_for_a_short_lived_token(team):
    olga = team.srv.api(team.olga, TEAM_A)
    made = olga.ok(
        "POST", "/2.0/runyard/service-principals", json={"name": "ci-trainer", "role": "contributor"}
    )
    sp = made["service_principal"]
    assert (sp["name"], sp["principal"], sp["role"]) == ("ci-trainer", f"{TEAM_A}/ci-trainer", "contributor")
    client_id, secret = made["client_id"], made["client_secret"]
    listed = olga.ok("GET", "/2.0/runyard/service-principals")["service_principals"]
    assert [s["client_id"] for s in listed] == [client_id]
    assert secret not in str(listed)

    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    as_form = requests.post(team.srv.url + TOKEN_URL, data=form, timeout=30)
    as_json = requests.post(team.srv.url + TOKEN_URL, json=form, timeout=30)
    for r in (as_form, as_json):
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
        assert body["access_token"].startswith("ryd_at_")
        assert r.headers["cache-control"] == "no-store"
    job = team.srv.api(as_form.json()["access_token"])
    eid = job.in_workspace(TEAM_A).ok("POST", "/2.0/mlflow/experiments/create", json={"name": "spark-job"})
    assert eid["experiment_id"]
    assert job.in_workspace(TEAM_B).request("GET", "/2.0/mlflow/experiments/search").status_code == 404
    assert job.request("POST", "/2.0/runyard/tokens", json={"name": "x"}).status_code == 403

    wrong = requests.post(team.srv.url + TOKEN_URL, data={**form, "client_secret": "nope"}, timeout=30)
    assert wrong.status_code == 401 and wrong.json()["error_code"] == "UNAUTHENTICATED"
    odd = requests.post(team.srv.url + TOKEN_URL, data={**form, "grant_type": "password"}, timeout=30)
    assert odd.status_code == 400 and odd.json()["error_code"] == "INVALID_PARAMETER_VALUE"

    olga.ok("DELETE", "/2.0/runyard/service-principals", json={"name": "ci-trainer"})
    assert job.in_workspace(TEAM_A).request("GET", "/2.0/mlflow/experiments/search").status_code == 401
    gone = requests.post(team.srv.url + TOKEN_URL, data=form, timeout=30)
    assert gone.status_code == 401


def test_contributor_cannot_create_service_principals(team):
    r = team.srv.api(team.ana, TEAM_A).request(
        "POST", "/2.0/runyard/service-principals", json={"name": "sneaky", "role": "owner"}
    )
    assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED"


# -- device-code sign-in (runyard login) -------------------------------------------------
def _poll(srv: AuthServer, device_code: str) -> requests.Response:
    return requests.post(
        srv.url + TOKEN_URL, data={"grant_type": DEVICE_GRANT, "device_code": device_code}, timeout=30
    )


def test_device_code_sign_in_end_to_end(team):
    start = requests.post(team.srv.url + "/api/2.0/runyard/oauth/device/code", json={}, timeout=30)
    assert start.status_code == 200, start.text
    flow = start.json()
    assert flow["verification_uri"] == team.srv.url + "/device"
    assert flow["verification_uri_complete"] == f"{team.srv.url}/device?user_code={flow['user_code']}"
    assert (flow["expires_in"], flow["interval"]) == (600, 2)
    assert len(flow["user_code"]) == 9 and flow["user_code"][4] == "-"
    page = requests.get(flow["verification_uri"], timeout=30)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "api/2.0/runyard/oauth/device/" in page.text

    pending = _poll(team.srv, flow["device_code"])
    assert pending.status_code == 400 and pending.json()["error_code"] == "AUTHORIZATION_PENDING"

    ana = team.srv.api(team.ana)
    # People type codes loosely: lower case and without the dash is fine.
    typed = flow["user_code"].replace("-", "").lower()
    assert ana.ok("POST", "/2.0/runyard/oauth/device/approve", json={"user_code": typed}) == {}

    granted = _poll(team.srv, flow["device_code"])
    assert granted.status_code == 200, granted.text
    token = granted.json()["access_token"]
    assert token.startswith("ryd_at_") and granted.json()["token_type"] == "Bearer"
    signed_in = team.srv.api(token)
    assert signed_in.ok("GET", "/2.0/runyard/me")["principal"]["name"] == "ana"
    assert signed_in.in_workspace(TEAM_A).ok(
        "GET", "/2.0/mlflow/experiments/get", params={"experiment_id": 0}
    )

    again = _poll(team.srv, flow["device_code"])
    assert again.status_code == 400 and again.json()["error_code"] == "EXPIRED_TOKEN"
    r = ana.request("POST", "/2.0/runyard/oauth/device/approve", json={"user_code": flow["user_code"]})
    assert r.status_code == 404  # no longer pending


def test_device_sign_in_can_be_denied(team):
    flow = requests.post(team.srv.url + "/api/2.0/runyard/oauth/device/code", json={}, timeout=30).json()
    bob = team.srv.api(team.bob)
    bob.ok("POST", "/2.0/runyard/oauth/device/deny", json={"user_code": flow["user_code"]})
    denied = _poll(team.srv, flow["device_code"])
    assert denied.status_code == 400 and denied.json()["error_code"] == "ACCESS_DENIED"


def test_device_approval_needs_a_signed_in_user_and_a_real_code(team):
    r = requests.post(
        team.srv.url + "/api/2.0/runyard/oauth/device/approve", json={"user_code": "BCDF-GHJK"}, timeout=30
    )
    assert r.status_code == 401
    r = team.srv.api(team.ana).request(
        "POST", "/2.0/runyard/oauth/device/approve", json={"user_code": "ZZZZ-ZZZZ"}
    )
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    unknown = _poll(team.srv, "not-a-device-code")
    assert unknown.status_code == 400


# -- the audit log ------------------------------------------------------------------------
def test_audit_log_shows_grants_tokens_and_deletions(team, monkeypatch):
    uri = f"{team.srv.url}/w/{TEAM_A}"
    client = _mlflow_as(monkeypatch, team.ana, uri)
    eid = client.create_experiment("to-be-deleted")
    client.delete_experiment(eid)
    client.create_registered_model("to-be-deleted-model")
    client.delete_registered_model("to-be-deleted-model")
    team.srv.api(team.ana).ok("POST", "/2.0/runyard/tokens", json={"name": "audited"})

    olga = team.srv.api(team.olga, TEAM_A)
    entries = olga.ok("GET", "/2.0/runyard/audit")["entries"]
    seen = {(e["actor"], e["action"], e["target"]) for e in entries}
    assert ("admin", "role.grant", "ana") in seen
    assert ("ana", "experiment.delete", f"to-be-deleted (id {eid})") in seen
    assert ("ana", "registered_model.delete", "to-be-deleted-model") in seen
    assert all(e["workspace"] == TEAM_A for e in entries)  # owners see their workspace only
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)

    everything = team.admin.in_workspace(TEAM_A).ok("GET", "/2.0/runyard/audit", params={"max_results": 1000})
    assert any(
        e["action"] == "token.create" and e["target"].startswith("ana: audited")
        for e in everything["entries"]
    )

    first = olga.ok("GET", "/2.0/runyard/audit", params={"max_results": 2})
    assert len(first["entries"]) == 2 and first["next_page_token"]
    second = olga.ok(
        "GET", "/2.0/runyard/audit", params={"max_results": 2, "page_token": first["next_page_token"]}
    )
    assert second["entries"][0]["id"] < first["entries"][-1]["id"]

    reader = team.srv.api(team.bob, TEAM_A).request("GET", "/2.0/runyard/audit")
    assert reader.status_code == 403


def test_roles_can_be_listed_changed_and_revoked(team):
    olga = team.srv.api(team.olga, TEAM_A)
    team.admin.ok("POST", "/2.0/runyard/users", json={"name": "carl"})
    granted = olga.ok("POST", "/2.0/runyard/members", json={"principal": "carl", "role": "reader"})
    assert granted["member"]["principal"] == "carl" and granted["member"]["role"] == "reader"
    olga.ok("POST", "/2.0/runyard/members", json={"principal": "carl", "role": "contributor"})
    roles = {m["principal"]: m["role"] for m in olga.ok("GET", "/2.0/runyard/members")["members"]}
    assert roles["carl"] == "contributor" and roles["olga"] == "owner"
    olga.ok("DELETE", "/2.0/runyard/members", json={"principal": "carl"})
    assert "carl" not in {m["principal"] for m in olga.ok("GET", "/2.0/runyard/members")["members"]}
    bad = olga.request("POST", "/2.0/runyard/members", json={"principal": "carl", "role": "boss"})
    assert bad.status_code == 400 and "reader, contributor, owner" in bad.json()["message"]
    assert olga.request("POST", "/2.0/runyard/users", json={"name": "eve"}).status_code == 403


# -- rate limit, first start, refusing an insecure start ----------------------------------
def test_token_endpoint_is_rate_limited(tmp_path):
    srv = AuthServer(f"sqlite:///{tmp_path / 'rl.db'}", tmp_path / "artifacts", "--token-rate-limit", "3")
    srv.start()
    try:
        client_id, secret = srv.admin.service_principal("default", "limited", "reader")
        # Successful exchanges are not counted: a Spark job's many executors may all start at once.
        ok = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        codes = [requests.post(srv.url + TOKEN_URL, data=ok, timeout=30).status_code for _ in range(6)]
        assert codes == [200] * 6

        wrong = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": "guess"}
        codes = [requests.post(srv.url + TOKEN_URL, data=wrong, timeout=30).status_code for _ in range(3)]
        assert codes == [401, 401, 401]
        limited = requests.post(srv.url + TOKEN_URL, data=wrong, timeout=30)
        assert limited.status_code == 429
        assert limited.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
        # Even the right secret waits now: the limit is what makes guessing hopeless.
        right = requests.post(srv.url + TOKEN_URL, data={**wrong, "client_secret": secret}, timeout=30)
        assert right.status_code == 429

    finally:
        srv.stop()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_first_start_prints_the_admin_token_once(kind, tmp_path):
    with fresh_backend(kind, tmp_path) as url:
        first = RunyardServer(url, tmp_path / "artifacts", "--auth", "on")
        first.start()
        first.stop()
        printed = printed_tokens(first.log())
        assert len(set(printed)) == 1
        assert f"export MLFLOW_TRACKING_TOKEN={printed[0]}" in first.log()
        assert "runyard login" in first.log()

        second = RunyardServer(url, tmp_path / "artifacts", "--auth", "on")
        second.start()
        try:
            assert printed_tokens(second.log()) == []
            me = Api(second.url, printed[0]).ok("GET", "/2.0/runyard/me")
            assert me["principal"]["name"] == "admin" and me["principal"]["is_admin"] is True
        finally:
            second.stop()


def test_auth_off_on_a_reachable_address_is_refused(tmp_path):
    cmd = [
        sys.executable, "-m", "runyard", "server", "--host", "0.0.0.0", "--port", str(free_port()),
        "--auth", "off", "--backend-store-uri", f"sqlite:///{tmp_path / 'x.db'}",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "--insecure" in done.stderr
    assert not (tmp_path / "x.db").exists()  # refused before touching anything
