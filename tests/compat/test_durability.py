"""Acknowledged writes survive a crash, and concurrent writers never see an error.

These talk REST directly (as many clients at once as a Spark job would) to a server process
of their own, so it can be SIGKILLed without disturbing the shared one.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.server import RunyardServer

API = "/api/2.0/mlflow"


@pytest.fixture
def own_server(backend, tmp_path):
    # A database of its own per test: the shared backend fixture only gives a URL per session.
    url = backend if not backend.startswith("sqlite") else f"sqlite:///{tmp_path / 'own.db'}"
    srv = RunyardServer(url, tmp_path / "artifacts")
    srv.start()
    yield srv
    srv.stop()


def _post(session: requests.Session, base: str, path: str, body: dict) -> dict:
    r = session.post(base + API + path, json=body, timeout=60)
    r.raise_for_status()
    return r.json()


def _new_run(base: str, name: str) -> tuple[str, str]:
    with requests.Session() as s:
        eid = _post(s, base, "/experiments/create", {"name": name})["experiment_id"]
        run_id = _post(s, base, "/runs/create", {"experiment_id": eid, "start_time": 0})["run"]["info"][
            "run_id"
        ]
    return eid, run_id


def test_sigkill_during_log_batch_burst_loses_nothing_acknowledged(own_server, unique):
    base = own_server.url
    _, run_id = _new_run(base, f"kill-{unique}")
    acked: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(worker: int) -> None:
        with requests.Session() as s:
            for i in range(10_000):
                if stop.is_set():
                    return
                step = worker * 100_000 + i
                metrics = [{"key": f"w{worker}", "value": float(step), "timestamp": 1, "step": step}]
                try:
                    r = s.post(
                        base + API + "/runs/log-batch",
                        json={"run_id": run_id, "metrics": metrics},
                        timeout=10,
                    )
                except requests.RequestException:
                    return
                if r.status_code == 200:
                    with lock:
                        acked.append(step)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    own_server.kill()
    stop.set()
    for t in threads:
        t.join(30)
    assert len(acked) > 50, "the burst never got going"

    own_server.start()
    stored: set[int] = set()
    with requests.Session() as s:
        for w in range(8):
            r = s.get(
                base + API + "/metrics/get-history",
                params={"run_id": run_id, "metric_key": f"w{w}", "max_results": 25000},
                timeout=30,
            )
            r.raise_for_status()
            stored |= {int(m["step"]) for m in r.json().get("metrics", [])}
    missing = set(acked) - stored
    assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {sorted(missing)[:5]}"


def test_64_concurrent_writers_no_errors_no_lost_writes(own_server, unique):
    base = own_server.url
    with requests.Session() as s:
        eid = _post(s, base, "/experiments/create", {"name": f"conc-{unique}"})["experiment_id"]

    def trial(i: int) -> str:
        with requests.Session() as s:
            run = _post(s, base, "/runs/create", {"experiment_id": eid, "start_time": i})["run"]["info"]
            rid = run["run_id"]
            _post(s, base, "/runs/log-batch", {"run_id": rid, "params": [{"key": "i", "value": str(i)}]})
            for step in range(20):
                metrics = [
                    {"key": f"m{k}", "value": step * 1.0, "timestamp": 1, "step": step} for k in range(50)
                ]
                _post(s, base, "/runs/log-batch", {"run_id": rid, "metrics": metrics})
            _post(s, base, "/runs/update", {"run_id": rid, "status": "FINISHED", "end_time": 1})
            return rid

    with ThreadPoolExecutor(64) as pool:
        run_ids = list(pool.map(trial, range(64)))  # raises on any non-2xx

    with requests.Session() as s:
        found = _post(s, base, "/runs/search", {"experiment_ids": [eid], "max_results": 1000})["runs"]
        assert len(found) == 64
        for run in found:
            assert run["info"]["status"] == "FINISHED"
            assert len(run["data"]["metrics"]) == 50
            assert all(m["step"] == 19 for m in run["data"]["metrics"])
        history = s.get(
            base + API + "/metrics/get-history", params={"run_id": run_ids[0], "metric_key": "m7"}, timeout=30
        ).json()["metrics"]
        assert sorted(m["step"] for m in history) == list(range(20))
