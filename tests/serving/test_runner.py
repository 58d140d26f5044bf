"""LocalProcessRunner: ready, restarted after a kill, failed with why, replaced, removed, logs, orphans."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from runyard.serving.runner import DeploymentSpec, LocalProcessRunner, process_start_time
from tests.serving.conftest import Fleet, wait_for
from tests.support.server import free_port


def test_deployed_model_is_ready_with_a_url_and_pid(fleet: Fleet) -> None:
    status = fleet.runner.status(fleet.specs["blue"].key)
    assert status.state == "ready" and status.message is None and status.restarts == 0
    assert status.url is not None and status.url.startswith("http://127.0.0.1:")
    assert status.pid is not None and Path(f"/proc/{status.pid}").exists()
    assert requests.get(status.url + "/ping", timeout=5).status_code == 200


def test_deploying_the_same_spec_again_changes_nothing(fleet: Fleet) -> None:
    before = fleet.runner.status(fleet.specs["blue"].key)
    fleet.runner.deploy(DeploymentSpec("1.churn.blue", fleet.specs["blue"].model_path))
    assert fleet.runner.status(fleet.specs["blue"].key) == before


def test_unknown_key_is_stopped(fleet: Fleet) -> None:
    status = fleet.runner.status("9.nothing.here")
    assert (status.state, status.url, status.pid, status.restarts) == ("stopped", None, None, 0)
    assert fleet.runner.logs("9.nothing.here") == []


def test_logs_hold_supervision_events_and_process_output(fleet: Fleet) -> None:
    lines = fleet.runner.logs(fleet.specs["blue"].key)
    text = "\n".join(lines)
    assert "started pid" in text and "runyard-serving: model loaded" in text and "] ready" in text
    assert fleet.runner.logs(fleet.specs["blue"].key, tail=1) == lines[-1:]


def test_model_that_cannot_load_is_failed_with_the_reason(fleet: Fleet) -> None:
    key = fleet.specs["broken"].key
    status = fleet.runner.status(key)
    assert status.state == "failed"
    assert status.message is not None and "model.skops" in status.message, status
    # Still retried with backoff (capped at 2 s for this runner), and still failed with the reason.
    restarts = status.restarts
    deadline = time.monotonic() + 30
    while fleet.runner.status(key).restarts <= restarts and time.monotonic() < deadline:
        time.sleep(0.1)
    assert fleet.runner.status(key).restarts > restarts
    assert "runyard-serving: model failed to load:" in "\n".join(fleet.runner.logs(key))


def test_killed_process_is_restarted_and_counted(fleet: Fleet) -> None:
    key = fleet.specs["green"].key
    before = fleet.runner.status(key)
    assert before.pid is not None
    os.kill(before.pid, signal.SIGKILL)
    wait_for(fleet.runner, key, {"restarting"}, timeout=10)
    assert "SIGKILL" in (fleet.runner.status(key).message or "")
    wait_for(fleet.runner, key, {"ready"})
    after = fleet.runner.status(key)
    assert after.restarts == before.restarts + 1
    assert after.pid != before.pid
    assert after.url == before.url  # the port is kept, so a router's upstream stays valid
    assert requests.get(f"{after.url}/ping", timeout=5).status_code == 200


def test_changed_spec_replaces_and_remove_stops(fleet: Fleet, models_dir: Path) -> None:
    key = fleet.specs["broken"].key
    fixed = DeploymentSpec(key, models_dir / "counting")
    fleet.runner.deploy(fixed)
    wait_for(fleet.runner, key, {"ready"})
    status = fleet.runner.status(key)
    assert status.restarts == 0 and status.pid is not None
    fleet.runner.remove(key)
    assert fleet.runner.status(key).state == "stopped"
    assert _gone(status.pid)
    assert "stopped" in fleet.runner.logs(key)[-1]  # logs outlive the deployment
    fleet.runner.remove(key)  # removing twice is harmless


def test_spec_validation() -> None:
    with pytest.raises(ValueError, match="file name"):
        DeploymentSpec("a/b", Path("."))
    with pytest.raises(ValueError, match="must not start with"):
        DeploymentSpec("_envs", Path("."))
    with pytest.raises(ValueError, match="env_manager"):
        DeploymentSpec("a", Path("."), env_manager="conda")


def test_new_runner_kills_the_scoring_processes_a_previous_one_left(models_dir: Path, tmp_path: Path) -> None:
    """A server that died left a scoring process behind (still loading: /ping says 503 loading)."""
    port = free_port()
    orphan = subprocess.Popen(
        [
            *(sys.executable, "-m", "runyard.serving.scoring_server"),
            *("--model-path", str(models_dir / "iris"), "--port", str(port)),
        ],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    (tmp_path / "1.e.d").mkdir()
    info = {"pid": orphan.pid, "start_time": process_start_time(orphan.pid)}
    (tmp_path / "1.e.d" / "pid").write_text(json.dumps(info))
    # A stale pid file naming some other live process (ours) must not get it killed.
    (tmp_path / "1.e.x").mkdir()
    (tmp_path / "1.e.x" / "pid").write_text(json.dumps({"pid": os.getpid(), "start_time": None}))
    try:
        loading = None
        deadline = time.monotonic() + 60
        while loading is None and time.monotonic() < deadline:
            try:
                loading = requests.get(f"http://127.0.0.1:{port}/ping", timeout=2)
            except requests.ConnectionError:
                time.sleep(0.05)
        assert loading is not None and loading.status_code == 503
        assert loading.json()["status"] == "loading"
        runner = LocalProcessRunner(tmp_path)
        assert runner.orphans_killed == 1
        assert orphan.wait(timeout=10) is not None
        assert not (tmp_path / "1.e.d" / "pid").exists()
        runner.close()
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie until the runner's Popen reaps it counts as gone.
    return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z"
