"""The UI on a shared (auth-on) server: sign-in, roles, CSRF and device-code approval."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import expect

from tests.support.auth import AuthServer
from tests.ui.conftest import shot

MODEL = "shared-model"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class Team:
    def __init__(self, srv: AuthServer) -> None:
        self.srv = srv
        admin = srv.admin
        self.reader = admin.add_user("rita")
        admin.grant("default", "rita", "reader")
        self.contributor = admin.add_user("carl")
        admin.grant("default", "carl", "contributor")
        admin.create_workspace("private")  # nobody but the admin is a member
        api = admin.in_workspace("default")
        api.ok("POST", "/2.0/mlflow/registered-models/create", json={"name": MODEL})
        for _ in range(2):
            api.ok("POST", "/2.0/mlflow/model-versions/create", json={"name": MODEL, "source": "s3://b/m"})
        run = api.ok("POST", "/2.0/mlflow/runs/create", json={"experiment_id": "0", "run_name": "shared-run"})
        self.run_id = run["run"]["info"]["run_id"]
        metrics = [{"key": "loss", "value": 1 / (s + 1), "timestamp": 1000 + s, "step": s} for s in range(30)]
        api.ok("POST", "/2.0/mlflow/runs/log-batch", json={"run_id": self.run_id, "metrics": metrics})


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> Iterator[Team]:
    tmp = tmp_path_factory.mktemp("ui-auth")
    srv = AuthServer(f"sqlite:///{tmp / 'db.sqlite'}", tmp / "artifacts")
    srv.start()
    try:
        yield Team(srv)
    finally:
        srv.stop()


def sign_in(page, team: Team, token: str, target: str) -> None:
    page.goto(team.srv.url + target)
    page.wait_for_url(re.compile(r"/signin\?next="))
    page.fill("#token", token)
    page.locator("#signin-button").click()
    page.wait_for_url(re.compile(re.escape(target) + "$"))


def test_a_reader_signs_in_and_sees_no_write_controls(team: Team, page):
    sign_in(page, team, team.reader, f"/w/default/models/{MODEL}")
    assert page.locator("#role").inner_text() == "reader"
    assert page.locator("#versions tbody tr").count() == 2
    assert page.locator("#alias-form").count() == 0
    assert page.get_by_role("link", name="Access").count() == 0
    shot(page, "12-model-as-reader")
    session = next(c for c in page.context.cookies() if c["name"] == "runyard_session")
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    # The server refuses the write anyway, even with a valid CSRF token.
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "runyard_csrf")
    r = page.request.post(
        f"{team.srv.url}/w/default/models/{MODEL}/aliases",
        form={"csrf": csrf, "alias": "prod", "version": "1"},
        max_redirects=0,
    )
    assert r.status == 403 and "needs the contributor role" in r.text()
    # Only the workspaces one is a member of are listed; others answer as if they did not exist.
    page.goto(team.srv.url + "/")
    assert page.locator(".ws-card h2").all_inner_texts() == ["default"]
    assert page.goto(f"{team.srv.url}/w/private").status == 404
    # Owner-only pages answer 403 for a reader.
    assert page.goto(f"{team.srv.url}/w/default/access").status == 403
    page.goto(f"{team.srv.url}/w/default")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/signin$"))
    assert not any(c["name"] == "runyard_session" for c in page.context.cookies())
    page.goto(f"{team.srv.url}/w/default")
    page.wait_for_url(re.compile(r"/signin\?next="))


def test_a_contributor_sets_an_alias_and_forms_need_the_csrf_token(team: Team, page):
    sign_in(page, team, team.contributor, f"/w/default/models/{MODEL}")
    page.fill("#alias-name", "staging")
    page.locator("#set-alias").click()
    assert page.locator("#notice").inner_text() == "@staging now points to version 2."
    # Charts load their data with the session cookie.
    page.goto(f"{team.srv.url}/w/default/runs/{team.run_id}")
    expect(page.locator(".chartbox polyline.series")).to_have_count(1)
    assert page.locator(".chartbox polyline.series").get_attribute("data-points") == "30"
    forged = page.request.post(
        f"{team.srv.url}/w/default/models/{MODEL}/aliases",
        form={"csrf": "forged", "alias": "prod", "version": "1"},
        max_redirects=0,
    )
    assert forged.status == 403 and "CSRF" in forged.text()


def test_pages_need_a_sign_in_and_bad_tokens_are_refused(team: Team, page):
    r = requests.get(team.srv.url + "/w/default", allow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=%2Fw%2Fdefault"
    chart = requests.get(team.srv.url + "/w/default/charts/metrics?run=x&key=y", timeout=30)
    assert chart.status_code == 401 and chart.json()["error_code"] == "UNAUTHENTICATED"
    page.goto(team.srv.url + "/signin")
    page.fill("#token", "ryd_pat_0000000000000000_nope")
    page.locator("#signin-button").click()
    assert "not valid" in page.locator("#signin-error").inner_text()
    shot(page, "13-signin")


def test_an_owner_sees_the_access_page(team: Team, page):
    sign_in(page, team, team.srv.admin.token, "/w/default/access")
    members = page.locator("#members").inner_text()
    assert "rita" in members and "carl" in members
    assert "role.grant" in page.locator("#audit").inner_text()
    shot(page, "14-access")
    team.srv.admin.add_user("vera")
    page.fill("#grant-principal", "vera")
    page.select_option("#grant-role", "contributor")
    page.locator("#grant").click()
    assert page.locator("#notice").inner_text() == "vera is now contributor in default."
    assert "vera" in page.locator("#members").inner_text()
    page.locator("#members tr", has_text="vera").get_by_role("button", name="Remove").click()
    assert page.locator("#notice").inner_text() == "Removed vera from default."
    assert "vera" not in page.locator("#members").inner_text()
    page.fill("#grant-principal", "nobody-here")
    page.locator("#grant").click()
    assert "No user or service principal named 'nobody-here'" in page.locator("#error-message").inner_text()


def test_device_code_is_approved_from_the_signed_in_session(team: Team, page):
    flow = requests.post(team.srv.url + "/api/2.0/runyard/oauth/device/code", json={}, timeout=30).json()
    target = "/device?user_code=" + flow["user_code"]
    page.goto(team.srv.url + "/signin?next=" + requests.utils.quote(target, safe=""))
    page.fill("#token", team.reader)
    page.locator("#signin-button").click()
    page.wait_for_url(re.compile(r"/device\?user_code="))
    assert page.locator("#user_code").input_value() == flow["user_code"]
    shot(page, "15-device")
    page.locator("#approve").click()
    assert page.locator("#result").inner_text().startswith("Approved")
    granted = requests.post(
        team.srv.url + "/api/2.0/runyard/oauth/token",
        data={"grant_type": DEVICE_GRANT, "device_code": flow["device_code"]},
        timeout=30,
    )
    assert granted.status_code == 200, granted.text
    me = requests.get(
        team.srv.url + "/api/3.0/mlflow/workspaces",
        headers={"Authorization": f"Bearer {granted.json()['access_token']}"},
        timeout=30,
    )
    assert me.status_code == 200


def test_device_code_with_a_pasted_token_and_a_wrong_code(team: Team, page):
    page.goto(team.srv.url + "/device")
    page.fill("#user_code", "ZZZZ-ZZZZ")
    page.fill("#token", team.reader)
    page.locator("#approve").click()
    assert "No pending sign-in" in page.locator("#result").inner_text()
