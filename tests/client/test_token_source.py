"""The plugin's token source against a real auth-on server whose access tokens live 4 seconds.

The server refuses expired tokens (checked first, so the zero-401 assertions can fail), and
16 threads sharing one provider instance run through several token lifetimes.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from types import SimpleNamespace

import pytest
import requests

from runyard.client import auth, credentials
from runyard.client.auth import RunyardAuthError, RunyardAuthProvider, TokenSource
from tests.support.auth import R, auth_server

TTL_S = 4


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def srv(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"token-{request.param}")
    # A generous rate limit: these tests fetch many tokens from one address on purpose.
    with auth_server(
        request.param, tmp, "--access-token-ttl-s", str(TTL_S), "--token-rate-limit", "10000"
    ) as s:
        yield s


@pytest.fixture
def sp(srv, unique, monkeypatch, tmp_path):
    """A fresh contributor service principal in a fresh workspace, set in the environment."""
    ws = srv.workspace(f"tok-{unique}")
    name = f"job-{unique}"
    client_id, secret = srv.service_principal(ws, name, "contributor")
    monkeypatch.setenv("RUNYARD_CLIENT_ID", client_id)
    monkeypatch.setenv("RUNYARD_CLIENT_SECRET", secret)
    monkeypatch.delenv("RUNYARD_TOKEN", raising=False)
    monkeypatch.setenv("RUNYARD_HOME", str(tmp_path / "home"))
    return SimpleNamespace(ws=ws, name=name, client_id=client_id, secret=secret)


def fetch_token(srv, client_id: str, secret: str) -> dict:
    resp = requests.post(
        srv.url + "/api/2.0/runyard/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_server_refuses_an_expired_access_token(srv, sp):
    ws = sp.ws
    grant = fetch_token(srv, sp.client_id, sp.secret)
    assert grant["token_type"] == "Bearer"
    assert grant["expires_in"] == TTL_S
    url = f"{srv.url}/w/{ws}/api/2.0/mlflow/experiments/get?experiment_id=0"
    headers = {"Authorization": f"Bearer {grant['access_token']}"}
    assert requests.get(url, headers=headers, timeout=10).status_code == 200
    time.sleep(TTL_S + 0.2)
    late = requests.get(url, headers=headers, timeout=10)
    assert late.status_code == 401
    assert late.json()["error_code"] == "UNAUTHENTICATED"
    assert "expired" in late.json()["message"]


def test_token_is_reused_then_renewed_before_expiry(srv, sp):
    src = TokenSource(srv.url + auth.TOKEN_PATH, sp.client_id, sp.secret)
    first = src.token()
    assert first.startswith("ryd_at_")
    assert src.token() == first and src.fetches == 1  # cached
    # Renewal starts when 20% of the lifetime is left (0.8 s here), not at expiry.
    time.sleep(TTL_S * 0.8 + 0.1)
    second = src.token()
    assert second != first
    assert src.fetches == 2
    me = requests.get(f"{srv.url}{R}/me", headers={"Authorization": f"Bearer {second}"}, timeout=10)
    assert me.status_code == 200, me.text
    assert me.json()["principal"]["name"] == f"{sp.ws}/{sp.name}"


def test_sixteen_threads_share_one_provider_and_never_send_an_expired_token(srv, sp):
    ws = sp.ws
    created = srv.ok("POST", "/2.0/mlflow/runs/create", workspace=ws, json={"experiment_id": "0"})
    run_id = created["run"]["info"]["run_id"]
    provider = RunyardAuthProvider()
    duration = 3 * TTL_S + 1  # several lifetimes, so every thread lives through renewals
    statuses: Counter[int] = Counter()
    tokens_seen: set[str] = set()
    lock = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(16)

    def worker(n: int) -> None:
        session = requests.Session()
        session.auth = provider.get_auth()
        base = f"{srv.url}/w/{ws}/api/2.0/mlflow"
        step = 0
        try:
            start.wait()
            stop_at = time.monotonic() + duration
            while time.monotonic() < stop_at:
                if step % 2:
                    params = {"run_id": run_id}
                    resp = session.get(f"{base}/runs/get", params=params, timeout=30)
                else:
                    body = {"run_id": run_id, "key": f"m{n}", "value": step, "timestamp": 0, "step": step}
                    resp = session.post(f"{base}/runs/log-metric", json=body, timeout=30)
                with lock:
                    statuses[resp.status_code] += 1
                    tokens_seen.add(resp.request.headers["Authorization"])
                step += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert statuses[401] == 0, statuses
    assert set(statuses) == {200}, statuses
    assert sum(statuses.values()) > 16 * 10
    # One token source per process for this principal, shared by every thread...
    src = auth.token_source(srv.url, sp.client_id, sp.secret)
    # ... which renewed a few times, once per lifetime (about every 0.8 x TTL), not per thread.
    renewals_possible = duration / (0.8 * TTL_S)
    assert duration / TTL_S <= src.fetches <= renewals_possible + 2, src.fetches
    assert len(tokens_seen) == src.fetches


def test_credential_order_client_secret_then_token_then_cache(srv, sp, monkeypatch):
    ws = sp.ws
    pat = srv.ok("POST", "/2.0/runyard/tokens", json={"name": "order-test"})["secret"]
    auth_obj = RunyardAuthProvider().get_auth()

    def me() -> str:
        resp = requests.get(f"{srv.url}/w/{ws}/api/2.0/runyard/me", auth=auth_obj, timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()["principal"]["name"]

    monkeypatch.setenv("RUNYARD_TOKEN", pat)
    assert me() == f"{ws}/{sp.name}"  # the service principal wins
    monkeypatch.delenv("RUNYARD_CLIENT_ID")
    monkeypatch.delenv("RUNYARD_CLIENT_SECRET")
    assert me() == "admin"  # then RUNYARD_TOKEN
    monkeypatch.delenv("RUNYARD_TOKEN")
    credentials.save(credentials.Credential(srv.url, pat, principal="admin"))
    assert me() == "admin"  # then the credential cache of `runyard login`
    credentials.save(credentials.Credential(srv.url, pat, principal="admin", expires_at=time.time() - 1))
    resp = requests.get(f"{srv.url}/w/{ws}/api/2.0/runyard/me", auth=auth_obj, timeout=10)
    assert resp.status_code == 401  # an expired cache entry is not sent at all
    assert "Authorization" not in resp.request.headers


def test_wrong_secret_is_a_clear_error(srv, sp, monkeypatch):
    monkeypatch.setenv("RUNYARD_CLIENT_SECRET", "ryd_sps_not-the-secret")
    with pytest.raises(RunyardAuthError, match=f"refused client id '{sp.client_id}'.*RUNYARD_CLIENT_SECRET"):
        url = f"{srv.url}/w/{sp.ws}/api/2.0/mlflow/experiments/get?experiment_id=0"
        requests.get(url, auth=RunyardAuthProvider().get_auth(), timeout=10)


def test_only_one_half_of_a_service_principal_is_a_clear_error(srv, sp, monkeypatch):
    monkeypatch.delenv("RUNYARD_CLIENT_SECRET")
    with pytest.raises(RunyardAuthError, match="RUNYARD_CLIENT_SECRET is not set"):
        requests.get(f"{srv.url}/api/2.0/runyard/me", auth=RunyardAuthProvider().get_auth(), timeout=10)


def test_deleted_service_principal_stops_working_and_the_cached_token_is_dropped(srv, sp):
    auth_obj = RunyardAuthProvider().get_auth()
    url = f"{srv.url}/w/{sp.ws}/api/2.0/mlflow/experiments/get?experiment_id=0"
    assert requests.get(url, auth=auth_obj, timeout=10).status_code == 200
    srv.ok("DELETE", "/2.0/runyard/service-principals", workspace=sp.ws, json={"name": sp.name})
    refused = requests.get(url, auth=auth_obj, timeout=10)
    assert refused.status_code == 401, refused.text
    # The refused token is forgotten: the next request asks for a new one and is told why not.
    with pytest.raises(RunyardAuthError, match=r"refused client id .*\(HTTP 401\): Invalid client_id"):
        requests.get(url, auth=auth_obj, timeout=10)
    assert auth.token_source(srv.url, sp.client_id, sp.secret).fetches == 2


def test_sixteen_threads_with_the_stock_mlflow_client(srv, sp, monkeypatch):
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "runyard")  # mlflow's one provider instance
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    client = MlflowClient(f"{srv.url}/w/{sp.ws}")
    run_id = client.create_run("0").info.run_id
    logged = [0] * 16
    errors: list[BaseException] = []
    start = threading.Barrier(16)

    def worker(n: int) -> None:
        try:
            start.wait()
            stop_at = time.monotonic() + 2 * TTL_S + 1
            while time.monotonic() < stop_at:
                client.log_metric(run_id, f"t{n}", float(logged[n]), step=logged[n])
                logged[n] += 1
        except BaseException as exc:  # noqa: BLE001 - an expired token would surface here as a 401
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(len(client.get_metric_history(run_id, f"t{n}")) == logged[n] > 0 for n in range(16))


class ScriptedTokenEndpoint:
    """A stand-in token endpoint answering from a script, for what a healthy server rarely does
    on cue (rate limiting, outages). ``answers`` holds (status, body, headers) tuples."""

    def __init__(self, answers: list[tuple[int, dict, dict]]) -> None:
        import http.server
        import json

        self.answers = answers
        self.requests = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests += 1
                status, body, headers = outer.answers.pop(0)
                payload = json.dumps(body).encode()
                self.send_response(status)
                for key, value in {**headers, "Content-Type": "application/json"}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def grant(token: str, ttl: float) -> tuple[int, dict, dict]:
    return 200, {"access_token": token, "token_type": "Bearer", "expires_in": ttl}, {}


LIMITED = (429, {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "Too many."}, {"Retry-After": "0.2"})
DOWN = (503, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "restarting"}, {})


def test_rate_limited_token_requests_wait_and_retry():
    endpoint = ScriptedTokenEndpoint([LIMITED, LIMITED, grant("ryd_at_x_1", 60)])
    try:
        src = TokenSource(endpoint.url + auth.TOKEN_PATH, "ryd_sp_id", "secret")
        began = time.monotonic()
        assert src.token() == "ryd_at_x_1"
        assert time.monotonic() - began >= 0.4  # honoured Retry-After twice
        assert (src.fetches, endpoint.requests) == (3, 3)
    finally:
        endpoint.close()


def test_failed_renewal_keeps_the_still_valid_token_but_never_an_expired_one():
    endpoint = ScriptedTokenEndpoint([grant("ryd_at_x_1", 2), *[DOWN] * 6, *[DOWN] * 6])
    sleeps: list[float] = []
    try:
        src = TokenSource(endpoint.url + auth.TOKEN_PATH, "ryd_sp_id", "secret", sleep=sleeps.append)
        assert src.token() == "ryd_at_x_1"
        time.sleep(2 * 0.8 + 0.05)  # into the renewal window, still valid
        assert src.token() == "ryd_at_x_1"  # renewal failed (6 tries), the old token still serves
        assert len(sleeps) == 5
        time.sleep(0.4)  # now too close to expiry to send it
        with pytest.raises(RunyardAuthError, match="HTTP 503"):
            src.token()
    finally:
        endpoint.close()
