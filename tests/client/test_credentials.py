"""The credential cache: 0600, atomic, keyed by server, RUNYARD_HOME honoured."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import pytest

from runyard.client import credentials
from runyard.client.credentials import Credential

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "ry-home"
    monkeypatch.setenv("RUNYARD_HOME", str(home))
    return home


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_runyard_home_is_honoured_and_file_is_0600(home):
    path = credentials.save(Credential("http://host:5000", "ryd_pat_1_secret", principal="ana"))
    assert path == home / "credentials.json"
    assert mode(path) == 0o600
    assert mode(home) == 0o700
    assert credentials.get("http://host:5000").token == "ryd_pat_1_secret"


def test_default_location_is_home_dot_runyard(monkeypatch, tmp_path):
    monkeypatch.delenv("RUNYARD_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert credentials.credentials_path() == tmp_path / ".runyard" / "credentials.json"


def test_0600_even_with_a_permissive_umask(home):
    old = os.umask(0)
    try:
        path = credentials.save(Credential("http://host:5000", "t"))
        credentials.save(Credential("http://other:5000", "u"))
    finally:
        os.umask(old)
    assert mode(path) == 0o600


def test_keyed_by_server_base_url(home):
    credentials.save(Credential("http://Host:5000/w/team-a", "tok-a", principal="ana"))
    credentials.save(Credential("https://proxy.example/mlflow/", "tok-b", principal="bo"))
    # Any URL of the same server finds its entry: workspace paths, API paths, default ports.
    assert credentials.get("http://host:5000").token == "tok-a"
    assert credentials.get("http://host:5000/api/2.0/mlflow/runs/create").token == "tok-a"
    assert credentials.get("https://proxy.example:443/mlflow/w/x/api/2.0/y").token == "tok-b"
    assert credentials.get("http://host:5001") is None
    data = json.loads((home / "credentials.json").read_text())
    assert set(data["servers"]) == {"http://host:5000", "https://proxy.example/mlflow"}
    assert data["default_server"] == "https://proxy.example/mlflow"
    assert credentials.default_server() == "https://proxy.example/mlflow"


def test_replace_and_remove(home):
    credentials.save(Credential("http://host:5000", "old"))
    credentials.save(Credential("http://other:5000", "keep"), make_default=False)
    credentials.save(Credential("http://host:5000", "new", expires_at=time.time() + 3600, token_id="7"))
    cred = credentials.get("http://host:5000")
    assert (cred.token, cred.token_id, cred.expired()) == ("new", "7", False)
    assert credentials.remove("http://host:5000") is True
    assert credentials.get("http://host:5000") is None
    assert credentials.get("http://other:5000").token == "keep"
    assert credentials.default_server() is None
    assert credentials.remove("http://host:5000") is False


def test_expiry_round_trips(home):
    soon = time.time() - 5
    credentials.save(Credential("http://host:5000", "t", expires_at=soon))
    cred = credentials.get("http://host:5000")
    assert cred.expired()
    assert abs(cred.expires_at - soon) < 1e-3
    # Stored readable, in UTC.
    raw = json.loads((home / "credentials.json").read_text())["servers"]["http://host:5000"]["expires_at"]
    assert raw.endswith("+00:00")


def test_write_is_atomic_no_partial_file_and_no_temp_left(home):
    credentials.save(Credential("http://host:5000", "first"))
    # A reader racing many writers only ever sees a complete file with one of the tokens.
    code = """
import sys
from runyard.client import credentials
from runyard.client.credentials import Credential
for i in range(200):
    credentials.save(Credential("http://host:5000", f"tok-{sys.argv[1]}-{i}"))
"""
    env = {**os.environ, "RUNYARD_HOME": str(home)}
    writers = [subprocess.Popen([sys.executable, "-c", code, str(n)], env=env) for n in range(3)]
    seen = 0
    path = home / "credentials.json"
    while any(w.poll() is None for w in writers):
        data = json.loads(path.read_text())  # never a JSON error: the file is replaced whole
        assert data["servers"]["http://host:5000"]["token"].startswith(("first", "tok-"))
        seen += 1
    assert all(w.wait() == 0 for w in writers)
    assert seen > 0
    assert credentials.get("http://host:5000").token.endswith("-199")
    assert sorted(p.name for p in home.iterdir()) == ["credentials.json", "credentials.json.lock"]
    assert mode(path) == 0o600


def test_concurrent_logins_to_two_servers_both_kept(home):
    code = """
import sys
from runyard.client import credentials
from runyard.client.credentials import Credential
for i in range(100):
    credentials.save(Credential(f"http://{sys.argv[1]}:5000", f"tok-{i}"))
"""
    env = {**os.environ, "RUNYARD_HOME": str(home)}
    procs = [subprocess.Popen([sys.executable, "-c", code, host], env=env) for host in ("a", "b")]
    assert all(p.wait() == 0 for p in procs)
    assert credentials.get("http://a:5000").token == "tok-99"
    assert credentials.get("http://b:5000").token == "tok-99"


def test_unreadable_cache_says_what_to_do(home):
    home.mkdir()
    (home / "credentials.json").write_text("{not json")
    with pytest.raises(credentials.CredentialsError, match="runyard login"):
        credentials.get("http://host:5000")
    # Logging in again replaces the broken file.
    credentials.save(Credential("http://host:5000", "t"))
    assert credentials.get("http://host:5000").token == "t"


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("http://127.0.0.1:5000/", "http://127.0.0.1:5000"),
        ("127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("HTTP://Host:80/w/team-a", "http://host"),
        ("http://host:5000/ajax-api/2.0/mlflow/x", "http://host:5000"),
        ("https://h/prefix/api/2.0/runyard/oauth/token", "https://h/prefix"),
        ("http://[::1]:5000/api/2.0/x", "http://[::1]:5000"),
    ],
)
def test_server_base(url, base):
    assert credentials.server_base(url) == base
