"""Two Runyard replicas on one PostgreSQL database behind nginx: concurrent writes through the
stock mlflow client lose, duplicate and reorder nothing, even when a replica is SIGKILLed.

Both tests share one cluster; the crash test runs last because it leaves one replica dead.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

from tests.support.nginx import Nginx
from tests.support.pg import postgres_database
from tests.support.server import RunyardServer

pytestmark = pytest.mark.postgres

T = TypeVar("T")
THREADS = 16
KEYS = 5  # metric keys per run; each log-batch carries one step of every key


@dataclass
class Cluster:
    replicas: list[RunyardServer]
    lb: Nginx

    @property
    def url(self) -> str:
        return self.lb.url


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with postgres_database("runyard_replicas") as db:
        artifacts: Path = tmp_path_factory.mktemp("replica-artifacts")  # shared, as on one bucket
        # Each replica runs its own scoring processes for the endpoints, in its own folder.
        replicas = [
            RunyardServer(db, artifacts, "--serving-dir", str(tmp_path_factory.mktemp("serving")))
            for _ in range(2)
        ]
        lb: Nginx | None = None
        try:
            for srv in replicas:
                srv.start()
            lb = Nginx(tmp_path_factory.mktemp("nginx"), [f"127.0.0.1:{s.port}" for s in replicas])
            lb.start()
            yield Cluster(replicas, lb)
        finally:
            if lb is not None:
                lb.stop()
            for srv in replicas:
                srv.stop()


@dataclass
class Ledger:
    """What the servers acknowledged, and how many writes ended without an answer."""

    runs: dict[str, int] = field(default_factory=dict)  # run_id -> batches acknowledged
    versions: dict[int, str] = field(default_factory=dict)  # version -> run_id it was made from
    aliases: dict[str, int] = field(default_factory=dict)
    duplicate_versions: list[int] = field(default_factory=list)
    unanswered: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _retrying(ledger: Ledger, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Call ``fn``; on any error try again (a killed replica's in-flight request fails with 502).

    Whether the failed attempt committed is unknown, so writes are repeated the way a user would:
    the checks below allow an extra run or version per unanswered create, never a lost one.
    """
    for attempt in range(8):
        try:
            return fn(*args, **kwargs)
        except Exception:
            with ledger.lock:
                ledger.unanswered += 1
            if attempt == 7:
                raise
            time.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")


def _worker(client: MlflowClient, ledger: Ledger, eid: str, model: str, t: int, runs: int, batches: int):
    for r in range(runs):
        run_id = _retrying(ledger, client.create_run, eid, run_name=f"t{t}-r{r}").info.run_id
        with ledger.lock:
            ledger.runs[run_id] = 0
        for b in range(batches):
            metrics = [Metric(f"m{k}", float(b * 10 + k), 1_000 + b, b) for k in range(KEYS)]
            _retrying(ledger, client.log_batch, run_id, metrics=metrics, params=[Param(f"p{b}", str(b))])
            with ledger.lock:
                ledger.runs[run_id] = b + 1
        mv = _retrying(ledger, client.create_model_version, model, f"runs:/{run_id}/model", run_id=run_id)
        version = int(mv.version)
        alias = f"t{t}-r{r}"
        _retrying(ledger, client.set_registered_model_alias, model, alias, version)
        with ledger.lock:
            if version in ledger.versions:
                ledger.duplicate_versions.append(version)
            ledger.versions[version] = run_id
            ledger.aliases[alias] = version


def _burst(
    cluster: Cluster, runs: int, batches: int, during: Callable[[Ledger], None] | None = None
) -> tuple[MlflowClient, Ledger, str, str]:
    client = MlflowClient(tracking_uri=cluster.url, registry_uri=cluster.url)
    tag = uuid.uuid4().hex[:8]
    eid = client.create_experiment(f"replicas-{tag}")
    model = f"replicated-{tag}"
    client.create_registered_model(model)
    ledger = Ledger()
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(_worker, client, ledger, eid, model, t, runs, batches) for t in range(THREADS)]
        if during is not None:
            during(ledger)
        for fut in futures:
            fut.result()
    return client, ledger, eid, model


def _check(client: MlflowClient, ledger: Ledger, eid: str, model: str, batches: int) -> None:
    assert not ledger.duplicate_versions, f"two writers got the same version: {ledger.duplicate_versions}"
    stored = {r.info.run_id: r for r in client.search_runs([eid], max_results=5000)}
    missing_runs = set(ledger.runs) - set(stored)
    assert not missing_runs, f"acknowledged runs lost: {sorted(missing_runs)[:5]}"
    # An unanswered create may have committed (an extra, empty run), never more than that.
    assert len(stored) - len(ledger.runs) <= ledger.unanswered

    want_steps = list(range(batches))
    for run_id in ledger.runs:
        assert ledger.runs[run_id] == batches
        run = stored[run_id]
        assert run.data.params == {f"p{b}": str(b) for b in range(batches)}
        assert run.data.metrics == {f"m{k}": float((batches - 1) * 10 + k) for k in range(KEYS)}
        for k in range(KEYS):
            history = client.get_metric_history(run_id, f"m{k}")
            # Every point once, in order, even if a retried log-batch reached the database twice.
            assert [m.step for m in history] == want_steps, (run_id, k, [m.step for m in history])
            assert [m.value for m in history] == [float(b * 10 + k) for b in want_steps]

    versions = client.search_model_versions(f"name = '{model}'", max_results=1000)
    numbers = sorted(int(v.version) for v in versions)
    assert numbers == list(range(1, len(numbers) + 1)), f"gaps or repeats: {numbers}"
    assert set(ledger.versions) <= set(numbers)
    assert len(numbers) - len(ledger.versions) <= ledger.unanswered
    by_number = {int(v.version): v for v in versions}
    for number, run_id in ledger.versions.items():
        assert by_number[number].run_id == run_id
    for alias, number in ledger.aliases.items():
        assert int(client.get_model_version_by_alias(model, alias).version) == number


def test_concurrent_writes_through_two_replicas(cluster: Cluster) -> None:
    before = cluster.lb.requests_per_upstream()
    client, ledger, eid, model = _burst(cluster, runs=2, batches=10)
    assert ledger.unanswered == 0, "no replica failed, so every call should have been answered"
    assert len(ledger.versions) == THREADS * 2
    _check(client, ledger, eid, model, batches=10)
    served = cluster.lb.requests_per_upstream() - before
    for srv in cluster.replicas:
        assert served[f"127.0.0.1:{srv.port}"] > 100, f"round robin did not spread the load: {served}"


def _log_model(url: str, name: str) -> None:
    import mlflow
    import numpy as np
    from sklearn.linear_model import LinearRegression

    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    mlflow.set_experiment("replica-endpoint-models")
    x = np.array([[i, (i * 7) % 5] for i in range(10)], dtype=float)  # independent columns
    with mlflow.start_run():
        mlflow.sklearn.log_model(
            LinearRegression().fit(x, x @ [2.0, 3.0] + 1), name="model", registered_model_name=name
        )


def _until(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"after {timeout:.0f} s: {what}"
        time.sleep(0.25)


def test_an_endpoint_deployed_through_one_replica_is_served_by_the_other(cluster: Cluster) -> None:
    a, b = cluster.replicas
    model, endpoint = f"served-{uuid.uuid4().hex[:8]}", f"shared-{uuid.uuid4().hex[:6]}"
    _log_model(cluster.url, model)
    api = f"{a.url}/api/2.0/runyard/endpoints"
    assert requests.post(api, json={"name": endpoint}, timeout=30).status_code == 200
    body = {"name": "blue", "model_uri": f"models:/{model}/1", "wait_seconds": 120}
    deployed = requests.post(f"{api}/{endpoint}/deployments", json=body, timeout=180)
    assert deployed.status_code == 200, deployed.text

    rows = {"dataframe_split": {"columns": ["0", "1"], "data": [[1.0, 2.0], [0.0, 0.0]]}}
    on_a = requests.post(f"{a.url}/w/default/endpoints/{endpoint}/invocations", json=rows, timeout=60)
    assert on_a.status_code == 200, on_a.text
    assert on_a.json()["predictions"] == pytest.approx([9.0, 1.0])

    # Replica B learns of the deployment from the database (its sync runs every 10 s) and
    # starts its own scoring process: it answers the same, with no call made to it before.
    def b_scores() -> bool:
        r = requests.post(f"{b.url}/w/default/endpoints/{endpoint}/invocations", json=rows, timeout=60)
        return r.status_code == 200 and r.json() == on_a.json()

    _until("replica B serves the endpoint deployed through replica A", b_scores)

    # Deleting through B stops A serving it too.
    gone = requests.delete(f"{b.url}/api/2.0/runyard/endpoints/{endpoint}", timeout=60)
    assert gone.status_code == 200, gone.text

    def a_refuses() -> bool:
        r = requests.post(f"{a.url}/w/default/endpoints/{endpoint}/invocations", json=rows, timeout=60)
        return r.status_code == 404

    _until("replica A stops serving the endpoint deleted through replica B", a_refuses, timeout=30)


def test_sigkill_of_one_replica_mid_burst_loses_nothing_acknowledged(cluster: Cluster) -> None:
    victim = cluster.replicas[1]
    batches = 30

    def kill_mid_burst(ledger: Ledger) -> None:
        # Wait until the burst is well under way on both replicas, then crash one.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with ledger.lock:
                done = sum(ledger.runs.values())
            if done >= THREADS * batches // 3:
                break
            time.sleep(0.02)
        victim.kill()

    client, ledger, eid, model = _burst(cluster, runs=1, batches=batches, during=kill_mid_burst)
    assert victim.proc is not None and victim.proc.poll() is not None, "the replica was not killed"
    print(f"unanswered calls repeated after the kill: {ledger.unanswered}")
    _check(client, ledger, eid, model, batches=batches)
