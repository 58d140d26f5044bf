"""The `runyard` admin commands against a real auth-on server, as an admin would type them.

Most commands run in process through click's CliRunner; `runyard login` runs as a real
subprocess so the test can read the code it prints and approve it through the server's API.
"""

from __future__ import annotations

import json
import os
import queue
import re
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from runyard.cli import main
from tests.support.auth import auth_server
from tests.support.server import free_port


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def srv(request, tmp_path_factory):
    with auth_server(request.param, tmp_path_factory.mktemp(f"cli-{request.param}")) as s:
        yield s


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty RUNYARD_HOME and no credential in the environment."""
    for name in ("RUNYARD_TOKEN", "RUNYARD_SERVER", "RUNYARD_CLIENT_ID", "RUNYARD_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RUNYARD_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def cli(srv, home):
    """``cli("user", "list")`` runs `runyard user list --server <srv>` as the admin."""

    def run(*args: str, token: str | None = None, ok: bool = True):
        env = {"RUNYARD_SERVER": srv.url, "RUNYARD_TOKEN": token or srv.admin_token}
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return run


def me(srv, token: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.get(f"{srv.url}/api/2.0/runyard/me", headers=headers, timeout=10)


def table(output: str) -> list[list[str]]:
    """Rows of a printed table, split on runs of 2+ spaces (header and rule dropped)."""
    lines = [ln for ln in output.splitlines() if ln.strip()]
    return [re.split(r"\s{2,}", ln.strip()) for ln in lines[2:]]


def test_workspace_user_and_roles(cli, unique):
    ws = f"team-{unique}"
    out = cli("workspace", "create", ws, "--description", "team A").output
    assert f"Created workspace {ws}" in out
    assert [ws, "team A"] in table(cli("workspace", "list").output)

    assert "Added user ana-" in cli("user", "add", f"ana-{unique}").output
    cli("user", "add", f"root-{unique}", "--admin")
    users = {row[0]: row for row in table(cli("user", "list").output)}
    assert users[f"ana-{unique}"][1:3] == ["user", "no"]
    assert users[f"root-{unique}"][1:3] == ["user", "yes"]

    out = cli("role", "grant", f"ana-{unique}", "contributor", "--workspace", ws).output
    assert f"ana-{unique} is now contributor in {ws}" in out
    assert [f"ana-{unique}", "user", "contributor"] == table(cli("role", "list", "-w", ws).output)[0][:3]
    cli("role", "grant", f"ana-{unique}", "reader", "--workspace", ws)  # replaces
    assert [row[2] for row in table(cli("role", "list", "-w", ws).output)] == ["reader"]
    cli("role", "revoke", f"ana-{unique}", "--workspace", ws)
    assert cli("role", "list", "-w", ws).output.strip() == f"No members in {ws}."


def test_user_add_prints_a_first_token_that_works(cli, srv, unique):
    out = cli("user", "add", f"newbie-{unique}").stdout
    first_token = out.strip().splitlines()[-1]
    response = me(srv, first_token)
    assert response.status_code == 200, response.text
    assert response.json()["principal"]["name"] == f"newbie-{unique}"

    out = cli("token", "create", "--name", "ci", "--user", f"newbie-{unique}").stdout
    assert me(srv, out.strip().splitlines()[-1]).json()["principal"]["name"] == f"newbie-{unique}"


def test_role_names_are_checked_before_calling_the_server(cli):
    result = cli("role", "grant", "ana", "superuser", "--workspace", "default", ok=False)
    assert result.exit_code == 2
    assert "'superuser' is not one of 'reader', 'contributor', 'owner'" in result.output


def test_service_principal_secret_is_printed_once_and_works(cli, srv, unique):
    ws = f"spark-{unique}"
    cli("workspace", "create", ws)
    created = cli("sp", "create", "ci-trainer", "--workspace", ws, "--role", "contributor")
    client_id = re.search(r"client_id:\s+(\S+)", created.stdout).group(1)
    secret = re.search(r"client_secret:\s+(\S+)", created.stdout).group(1)
    assert "never show it again" in created.stderr
    assert f"MLFLOW_TRACKING_URI={srv.url}/w/{ws}" in created.stderr

    grant = requests.post(
        f"{srv.url}/api/2.0/runyard/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        timeout=30,
    )
    assert grant.status_code == 200
    assert me(srv, grant.json()["access_token"]).json()["principal"]["name"] == f"{ws}/ci-trainer"

    listed = cli("sp", "list", "--workspace", ws).output
    assert table(listed)[0][:3] == ["ci-trainer", client_id, "contributor"]
    assert secret not in listed
    assert "ci-trainer" in cli("role", "list", "-w", ws).output  # it is a member, with its role

    cli("sp", "delete", "ci-trainer", "--workspace", ws)
    assert cli("sp", "list", "--workspace", ws).output.strip() == f"No service principals in {ws}."
    assert me(srv, grant.json()["access_token"]).status_code == 401


def test_personal_access_token_create_list_revoke(cli, srv, unique):
    created = cli("token", "create", "--name", f"laptop-{unique}", "--expires-in-days", "7")
    secret = created.stdout.strip()
    assert secret.startswith("ryd_pat_")
    assert "expires" in created.stderr
    assert me(srv, secret).json()["principal"]["name"] == "admin"

    rows = [row for row in table(cli("token", "list").output) if row[1] == f"laptop-{unique}"]
    assert len(rows) == 1
    token_id = rows[0][0]
    assert secret not in cli("token", "list").output
    assert token_id in secret  # ryd_pat_<id>_<secret>

    assert f"Revoked token {token_id}" in cli("token", "revoke", token_id).output
    refused = me(srv, secret)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["message"]
    assert [row[-1] for row in table(cli("token", "list").output) if row[0] == token_id] == ["yes"]


def test_audit_shows_access_changes(cli, unique):
    ws = f"audited-{unique}"
    cli("workspace", "create", ws)
    cli("user", "add", f"bo-{unique}")
    cli("role", "grant", f"bo-{unique}", "owner", "--workspace", ws)
    cli("sp", "create", "etl", "--workspace", ws, "--role", "reader")
    out = cli("audit", "--workspace", ws).output
    actions = [row[2] for row in table(out)]
    assert "role.grant" in actions and "service_principal.create" in actions
    assert f"bo-{unique}" in out
    first = cli("audit", "--workspace", ws, "--max-results", "1")
    assert len(table(first.stdout)) == 1
    page_token = re.search(r"--page-token (\S+)", first.stderr).group(1)
    second = cli("audit", "--workspace", ws, "--max-results", "1", "--page-token", page_token)
    assert len(table(second.stdout)) == 1
    assert table(second.stdout) != table(first.stdout)


def test_clear_errors(cli, srv, home):
    runner = CliRunner()
    down = runner.invoke(main, ["user", "list", "--server", f"http://127.0.0.1:{free_port()}"])
    assert down.exit_code == 1
    assert "Cannot reach the Runyard server" in down.output

    anonymous = runner.invoke(main, ["user", "list", "--server", srv.url])
    assert anonymous.exit_code == 1
    assert f"Not signed in to {srv.url}" in anonymous.output
    assert f"runyard login --server {srv.url}" in anonymous.output

    bad = cli("user", "list", token="ryd_pat_0123456789abcdef_nope", ok=False)
    assert bad.exit_code == 1 and "Not signed in" in bad.output

    missing = cli("role", "list", "--workspace", "no-such-workspace", ok=False)
    assert missing.exit_code == 1
    assert "Workspace 'no-such-workspace' does not exist" in missing.output


def test_a_non_admin_is_told_permission_denied(cli, srv, unique):
    ws = f"perm-{unique}"
    cli("workspace", "create", ws)
    client_id, secret = srv.service_principal(ws, "bot", "owner")
    grant = requests.post(
        f"{srv.url}/api/2.0/runyard/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        timeout=30,
    ).json()
    refused = cli("user", "add", f"eve-{unique}", token=grant["access_token"], ok=False)
    assert refused.exit_code == 1
    assert refused.output.startswith("Error: Permission denied:")
    # An owner of the workspace may manage its members, though.
    cli("role", "list", "--workspace", ws, token=grant["access_token"])


# -- runyard login ---------------------------------------------------------------------------


class LoginProcess:
    """`runyard login` as a person runs it, with its output readable line by line."""

    def __init__(self, home: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNYARD_", "MLFLOW_TRACKING_"))}
        env["RUNYARD_HOME"] = str(home)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "runyard", "login", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        while True:
            line = self.lines.get(timeout=timeout)
            self.seen.append(line)
            if m := re.search(pattern, line):
                return m

    def finish(self, timeout: float = 30) -> tuple[int, str]:
        code = self.proc.wait(timeout)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code, "".join(self.seen)


def test_login_device_flow_end_to_end(srv, home, cli, monkeypatch):
    login = LoginProcess(home, "--server", srv.url + "/w/default")
    url = login.wait_for(r"open (\S+)").group(1)
    user_code = login.wait_for(r"shows the code\s+(\S+)").group(1)
    assert re.fullmatch(r"[A-Z]{4}-[A-Z]{4}", user_code)
    assert url == f"{srv.url}/device?user_code={user_code}"
    assert requests.get(url, timeout=10).status_code == 200  # the page a person would open

    # The person approves it, signed in on the server's page (here: through the same API).
    approve = srv.request("POST", "/2.0/runyard/oauth/device/approve", json={"user_code": user_code})
    assert approve.status_code == 200, approve.text
    code, output = login.finish()
    assert code == 0, output
    assert f"Signed in to {srv.url} as admin (admin)." in output
    assert "MLFLOW_TRACKING_AUTH=runyard" in output

    path = home / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert saved["default_server"] == srv.url
    entry = saved["servers"][srv.url]
    assert entry["token"].startswith("ryd_pat_")  # a personal access token for this machine
    assert me(srv, entry["token"]).json()["principal"]["name"] == "admin"
    assert [row for row in table(cli("token", "list").output) if row[0] == entry["token_id"]]

    # From now on the CLI needs neither --server nor --token...
    whoami = CliRunner().invoke(main, ["whoami"], catch_exceptions=False)
    assert whoami.exit_code == 0, whoami.output
    assert whoami.output.startswith(f"admin (user, admin) on {srv.url}")
    # ...and plain mlflow calls just work with the plugin.
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "runyard")
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    assert MlflowClient(srv.url).get_experiment("0").name == "Default"

    out = CliRunner().invoke(main, ["logout"], catch_exceptions=False).output
    assert f"Signed out of {srv.url}." in out
    assert me(srv, entry["token"]).status_code == 401  # revoked on the server too
    assert srv.url not in json.loads(path.read_text())["servers"]


def test_login_denied_on_the_server(srv, home):
    login = LoginProcess(home, "--server", srv.url)
    user_code = login.wait_for(r"shows the code\s+(\S+)").group(1)
    srv.ok("POST", "/2.0/runyard/oauth/device/deny", json={"user_code": user_code})
    code, output = login.finish()
    assert code == 1
    assert "Error: The sign-in was denied on the server." in output
    assert not (home / "credentials.json").exists()


def test_login_with_a_given_token(srv, home):
    result = CliRunner().invoke(
        main, ["login", "--server", srv.url, "--token", srv.admin_token], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert f"Signed in to {srv.url} as admin (admin)." in result.output
    assert "it expires 20" in result.output  # looked up: the first admin's token lives a year
    whoami = CliRunner().invoke(main, ["whoami"], catch_exceptions=False)
    assert whoami.output.startswith("admin (user, admin)")
    wrong = CliRunner().invoke(main, ["login", "--server", srv.url, "--token", "ryd_pat_0123456789abcdef_x"])
    assert wrong.exit_code == 1
    assert "Not signed in" in wrong.output


def test_promote_demote_and_delete_a_user(cli, srv, unique):
    name = f"lead-{unique}"
    token = cli("user", "add", name).stdout.strip().splitlines()[-1]
    assert me(srv, token).json()["principal"]["is_admin"] is False

    assert f"{name} is now an admin." in cli("user", "promote", name).output
    assert me(srv, token).json()["principal"]["is_admin"] is True
    # Now an admin, they can list users; demoted, they cannot.
    assert cli("user", "list", token=token).exit_code == 0
    cli("user", "demote", name)
    denied = cli("user", "list", token=token, ok=False)
    assert denied.exit_code != 0
    assert "PERMISSION_DENIED" in denied.output or "permission" in denied.output.lower()

    cli("user", "delete", name, "--yes")
    assert me(srv, token).status_code == 401  # their tokens died with them
    assert name not in cli("user", "list").output
    events = cli("audit", "--max-results", "1000").output
    assert "user.promote" in events and "user.demote" in events and "user.delete" in events


def test_the_last_admin_cannot_be_demoted_or_deleted(cli, srv):
    # Demote every other admin first, so the bootstrap admin is the last one.
    users = {u["name"]: u for u in srv.ok("GET", "/2.0/runyard/users")["users"]}
    others = [n for n, u in users.items() if u["is_admin"] and n != "admin"]
    for name in others:
        cli("user", "demote", name)
    for args in (("user", "demote", "admin"), ("user", "delete", "admin", "--yes")):
        result = cli(*args, ok=False)
        assert result.exit_code != 0
        assert "last admin" in result.output
    assert me(srv, srv.admin_token).json()["principal"]["is_admin"] is True
    for name in others:
        cli("user", "promote", name)


def test_a_service_principal_cannot_be_deleted_as_a_user(cli, srv, unique):
    ws = srv.workspace(f"sp-{unique}")
    srv.service_principal(ws, "bot", "reader")
    result = cli("user", "delete", f"{ws}/bot", "--yes", ok=False)
    assert result.exit_code != 0
    assert "runyard sp delete" in result.output


def test_recover_admin_from_the_console(srv, home, unique):
    """Every admin token lost: the operator recovers access on the server machine."""
    name = f"rescuer-{unique}"
    env = {"RUNYARD_BACKEND_STORE_URI": srv.backend_url}
    result = CliRunner().invoke(main, ["user", "recover", name], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    principal = me(srv, token).json()["principal"]
    assert (principal["name"], principal["is_admin"]) == (name, True)
    events = srv.ok("GET", "/2.0/runyard/audit", workspace="default", params={"max_results": 1000})
    assert any(
        e["actor"] == "runyard (console)" and e["action"] == "user.create" and e["target"] == name
        for e in events["entries"]
    )

    bad = CliRunner().invoke(main, ["user", "recover", "Not A Name"], env=env)
    assert bad.exit_code != 0
    assert "Invalid user name" in bad.output
