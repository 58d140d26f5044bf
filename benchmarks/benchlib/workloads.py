"""The benchmark workloads.

Each workload is a class with untimed ``prepare`` (once per server) and
``setup`` (once per repeat) steps, a ``timed`` step that returns its wall
seconds, and an untimed ``verify`` step that checks the server really did
the work (failed checks are reported as errors).
"""

from __future__ import annotations

import random
import time
from typing import Any, ClassVar

from benchlib.client import Api
from benchlib.ops import (
    create_experiment,
    create_run,
    finish_run,
    get_run,
    log_batch,
    metric,
    must_create_run,
    now_ms,
    paged,
    parallel_map,
    param,
    run_parallel,
    search_runs,
)

SETUP_THREADS = 4


class Workload:
    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""

    def prepare(self, api: Api) -> None:
        """Untimed, once per server (shared data for read workloads)."""

    def setup(self, api: Api, rep: int) -> Any:
        """Untimed, once per repeat; returns the state for ``timed``."""
        return create_experiment(api, f"{self.name}-{rep}")

    def timed(self, api: Api, state: Any) -> float:
        raise NotImplementedError

    def verify(self, api: Api, state: Any) -> None:
        """Untimed correctness checks."""


class CreateRuns(Workload):
    name = "create_run"
    summary = "200 sequential runs/create"
    count = 200

    def timed(self, api: Api, state: Any) -> float:
        start = time.perf_counter()
        for i in range(self.count):
            create_run(api, state, f"run-{i}")
        return time.perf_counter() - start

    def verify(self, api: Api, state: Any) -> None:
        runs = search_runs(api, {"experiment_ids": [state], "max_results": 1000}, 1000)
        api.stats.check(len(runs) == self.count, f"{len(runs)} runs found, want {self.count}")


class LogBatchMetrics(Workload):
    name = "log_batch_metrics"
    summary = "one runs/log-batch of 1,000 metrics (distinct keys) into a fresh run"

    def setup(self, api: Api, rep: int) -> Any:
        exp_id = create_experiment(api, f"{self.name}-{rep}")
        return must_create_run(api, exp_id, "batch")

    def timed(self, api: Api, state: Any) -> float:
        ts = now_ms()
        batch = [metric(f"m{i}", i * 0.5, 0, ts) for i in range(1000)]
        start = time.perf_counter()
        log_batch(api, state, metrics=batch)
        return time.perf_counter() - start

    def verify(self, api: Api, state: Any) -> None:
        got = len(get_run(api, state).get("data", {}).get("metrics") or [])
        api.stats.check(got == 1000, f"run has {got} metrics, want 1000")


class LogBatchParams(LogBatchMetrics):
    name = "log_batch_params"
    summary = "one runs/log-batch of 100 params into a fresh run"

    def timed(self, api: Api, state: Any) -> float:
        batch = [param(f"p{i}", f"value-{i}") for i in range(100)]
        start = time.perf_counter()
        log_batch(api, state, params=batch)
        return time.perf_counter() - start

    def verify(self, api: Api, state: Any) -> None:
        got = len(get_run(api, state).get("data", {}).get("params") or [])
        api.stats.check(got == 100, f"run has {got} params, want 100")


class ThreadedMetrics(Workload):
    name = "threaded_metrics"
    summary = "16 threads x 50 log-batch calls of 10 metrics, one run per thread"
    threads = 16
    batches = 50

    def setup(self, api: Api, rep: int) -> Any:
        exp_id = create_experiment(api, f"{self.name}-{rep}")
        return [must_create_run(api, exp_id, f"t{i}") for i in range(self.threads)]

    def timed(self, api: Api, state: Any) -> float:
        def worker(index: int) -> None:
            run_id = state[index]
            for step in range(self.batches):
                ts = now_ms()
                log_batch(api, run_id, metrics=[metric(f"t{k}", step + k, step, ts) for k in range(10)])

        return run_parallel(api, self.threads, worker)

    def verify(self, api: Api, state: Any) -> None:
        for run_id in state:
            metrics = get_run(api, run_id).get("data", {}).get("metrics") or []
            steps = {int(m.get("step", 0)) for m in metrics}
            ok = len(metrics) == 10 and steps == {self.batches - 1}
            api.stats.check(ok, f"run {run_id}: latest metrics {len(metrics)} steps {steps}")


class SparkTrials(Workload):
    name = "sparktrials"
    summary = "64 concurrent writers: create run, 10 params, 20 x 50-metric batches, finish"
    writers = 64
    steps = 20

    def timed(self, api: Api, state: Any) -> float:
        def worker(index: int) -> None:
            run_id = create_run(api, state, f"trial-{index}")
            if run_id is None:
                return
            log_batch(api, run_id, params=[param(f"hp{k}", str(index * k)) for k in range(10)])
            for step in range(self.steps):
                ts = now_ms()
                batch = [metric(f"m{k}", index + step * 0.01 + k, step, ts) for k in range(50)]
                log_batch(api, run_id, metrics=batch)
            finish_run(api, run_id)

        return run_parallel(api, self.writers, worker)

    def verify(self, api: Api, state: Any) -> None:
        runs = search_runs(api, {"experiment_ids": [state], "max_results": 1000}, 1000)
        finished = [r for r in runs if r.get("info", {}).get("status") == "FINISHED"]
        api.stats.check(len(finished) == self.writers, f"{len(finished)} FINISHED runs")


class SearchRunsWide(Workload):
    name = "search_runs_wide"
    summary = "runs/search max_results=200 -> 200 runs, 20 of them with 1,000 metric keys"
    total = 200
    wide = 20
    keys = 1000

    def prepare(self, api: Api) -> None:
        self.exp_id = create_experiment(api, self.name)
        ts = now_ms()

        def make(i: int) -> None:
            run_id = must_create_run(api, self.exp_id, f"r{i}")
            count = self.keys if i % (self.total // self.wide) == 0 else 1
            log_batch(api, run_id, metrics=[metric(f"k{j}", float(j), 0, ts) for j in range(count)])
            log_batch(api, run_id, params=[param("p", "x")])

        parallel_map(api, self.total, SETUP_THREADS, make)

    def setup(self, api: Api, rep: int) -> Any:
        return None

    def timed(self, api: Api, state: Any) -> float:
        start = time.perf_counter()
        body = api.post("runs/search", {"experiment_ids": [self.exp_id], "max_results": self.total})
        self.last = (body or {}).get("runs") or []
        return time.perf_counter() - start

    def verify(self, api: Api, state: Any) -> None:
        runs = self.last
        metrics = sum(len(r.get("data", {}).get("metrics") or []) for r in runs)
        want = self.wide * self.keys + self.total - self.wide
        api.stats.check(len(runs) == self.total, f"{len(runs)} runs, want {self.total}")
        api.stats.check(metrics == want, f"{metrics} metrics in results, want {want}")


class SearchRunsFilter(Workload):
    name = "search_runs_filter"
    summary = "runs/search filter+order_by on a metric over 1,000 runs"
    total = 1000
    query = "metrics.m0 > 0.5 and params.p = 'x'"

    def prepare(self, api: Api) -> None:
        self.exp_id = create_experiment(api, self.name)
        rng = random.Random(1234)
        rows = [(rng.random(), rng.choice("xy")) for _ in range(self.total)]
        self.expected = sorted((v for v, p in rows if v > 0.5 and p == "x"), reverse=True)
        ts = now_ms()

        def make(i: int) -> None:
            value, p = rows[i]
            run_id = must_create_run(api, self.exp_id, f"r{i}")
            metrics = [metric("m0", value, 0, ts), metric("m1", 1.0 - value, 0, ts)]
            log_batch(api, run_id, metrics=metrics, params=[param("p", p), param("q", str(i))])

        parallel_map(api, self.total, SETUP_THREADS, make)

    def setup(self, api: Api, rep: int) -> Any:
        return None

    def timed(self, api: Api, state: Any) -> float:
        body = {
            "experiment_ids": [self.exp_id],
            "filter": self.query,
            "order_by": ["metrics.m0 DESC"],
            "max_results": 1000,
        }
        start = time.perf_counter()
        self.last = search_runs(api, body, len(self.expected))
        return time.perf_counter() - start

    def verify(self, api: Api, state: Any) -> None:
        got = []
        for run in self.last:
            values = {m.get("key"): m.get("value") for m in run.get("data", {}).get("metrics") or []}
            got.append(values.get("m0"))
        ok = len(got) == len(self.expected) and all(
            isinstance(g, (int, float)) and abs(g - e) < 1e-9 for g, e in zip(got, self.expected, strict=True)
        )
        api.stats.check(ok, f"{len(got)} ordered matches, want {len(self.expected)}")


class MetricHistory(Workload):
    name = "metric_history"
    summary = "metrics/get-history of 10,000 points (max_results=25000, paged)"
    points = 10_000

    def prepare(self, api: Api) -> None:
        exp_id = create_experiment(api, self.name)
        self.run_id = must_create_run(api, exp_id, "history")
        ts = now_ms()
        for chunk in range(self.points // 1000):
            steps = range(chunk * 1000, (chunk + 1) * 1000)
            batch = [metric("loss", 1.0 / (s + 1), s, ts + s) for s in steps]
            log_batch(api, self.run_id, metrics=batch)

    def setup(self, api: Api, rep: int) -> Any:
        return None

    def timed(self, api: Api, state: Any) -> float:
        def fetch(token: str | None) -> dict[str, Any] | None:
            params: dict[str, Any] = {"run_id": self.run_id, "metric_key": "loss", "max_results": 25000}
            if token:
                params["page_token"] = token
            return api.get("metrics/get-history", params)

        start = time.perf_counter()
        self.last = paged(api, fetch, "metrics", 10**9)
        return time.perf_counter() - start

    def verify(self, api: Api, state: Any) -> None:
        steps = {int(m.get("step", -1)) for m in self.last}
        ok = len(self.last) == self.points and steps == set(range(self.points))
        api.stats.check(ok, f"{len(self.last)} points ({len(steps)} distinct steps)")


class SearchExperiments(Workload):
    name = "search_experiments"
    summary = "experiments/search max_results=1000 (paged) with >= 500 experiments"
    count = 500

    def prepare(self, api: Api) -> None:
        parallel_map(api, self.count, SETUP_THREADS, lambda i: create_experiment(api, f"se{i}"))

    def setup(self, api: Api, rep: int) -> Any:
        return None

    def timed(self, api: Api, state: Any) -> float:
        def fetch(token: str | None) -> dict[str, Any] | None:
            body: dict[str, Any] = {"max_results": 1000}
            if token:
                body["page_token"] = token
            return api.post("experiments/search", body)

        start = time.perf_counter()
        self.last = paged(api, fetch, "experiments", 10**9)
        return time.perf_counter() - start

    def verify(self, api: Api, state: Any) -> None:
        api.stats.check(len(self.last) >= self.count, f"{len(self.last)} experiments found")


WORKLOADS: dict[str, type[Workload]] = {
    cls.name: cls
    for cls in (
        CreateRuns,
        LogBatchMetrics,
        LogBatchParams,
        ThreadedMetrics,
        SparkTrials,
        SearchRunsWide,
        SearchRunsFilter,
        MetricHistory,
        SearchExperiments,
    )
}
