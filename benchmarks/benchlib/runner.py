"""Run the selected workloads against one running server."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from benchlib.client import Api, Stats
from benchlib.ops import create_experiment, create_run, log_batch, metric, now_ms
from benchlib.workloads import WORKLOADS

WARMUP_REQUESTS = 30
SETTLE_SECONDS = 180.0


@dataclass
class WorkloadResult:
    workload: str
    samples: list[float] = field(default_factory=list)
    clean: list[bool] = field(default_factory=list)  # per sample: no error during that repeat
    requests: int = 0
    http_errors: int = 0
    transport_errors: int = 0
    check_failures: int = 0
    cut_off: int = 0
    error_samples: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def clean_samples(self) -> list[float]:
        return [s for s, ok in zip(self.samples, self.clean, strict=True) if ok]

    @property
    def median(self) -> float | None:
        """Median over the repeats that had no error (None if there is none)."""
        clean = self.clean_samples
        return statistics.median(clean) if clean else None

    @property
    def median_all(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def errors(self) -> int:
        return self.http_errors + self.transport_errors + self.check_failures

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["median"] = self.median
        data["median_all"] = self.median_all
        data["errors"] = self.errors
        return data


def warm_up(api: Api) -> Stats:
    """Untimed: touch the DB and the common endpoints (and every worker)."""
    api.stats = Stats()
    exp_id = create_experiment(api, "warmup")
    for i in range(WARMUP_REQUESTS):
        api.post("experiments/search", {"max_results": 10})
        run_id = create_run(api, exp_id, f"w{i}")
        if run_id:
            log_batch(api, run_id, metrics=[metric("w", float(i), i, now_ms())])
            api.get("runs/get", {"run_id": run_id})
    return api.stats


def settle(api: Api, limit: float = SETTLE_SECONDS) -> None:
    """Untimed, uncounted: wait (bounded) until the server answers a cheap call.

    After a workload that overloaded a server, its backlog would otherwise
    spill into the next workload's set-up.
    """
    saved, api.stats = api.stats, Stats()
    end = time.monotonic() + limit
    try:
        while time.monotonic() < end:
            if api.post("experiments/search", {"max_results": 1}) is not None:
                return
            time.sleep(1.0)
    finally:
        api.stats = saved


def _finish(result: WorkloadResult, stats: Stats) -> WorkloadResult:
    result.requests = stats.requests
    result.http_errors = stats.http_errors
    result.transport_errors = stats.transport_errors
    result.check_failures = stats.check_failures
    result.cut_off = stats.cut_off
    result.error_samples = list(stats.error_samples)
    return result


def run_workload(api: Api, name: str, repeat: int, deadline: float) -> WorkloadResult:
    """Prepare once, then ``repeat`` x (setup, timed, verify); setup/verify untimed."""
    settle(api)
    workload = WORKLOADS[name]()
    result = WorkloadResult(name)
    stats = api.stats = Stats()
    api.deadline = deadline
    try:
        workload.prepare(api)
    except Exception as exc:  # a malformed answer must not abort the whole run
        stats.check(False, f"prepare: {type(exc).__name__}: {exc}")
        result.note = "prepare failed"
        api.deadline = None
        return _finish(result, stats)
    for rep in range(repeat):
        if time.monotonic() > deadline:
            result.note = f"time limit reached after {rep} repeats"
            break
        before = stats.errors + stats.check_failures
        try:
            state = workload.setup(api, rep)
            elapsed = workload.timed(api, state)
            workload.verify(api, state)
        except Exception as exc:  # counted; the next repeat still runs
            stats.check(False, f"repeat {rep}: {type(exc).__name__}: {exc}")
            continue
        if time.monotonic() > deadline:
            stats.check(False, f"repeat {rep}: time limit reached (requests were cut off)")
        result.samples.append(elapsed)
        result.clean.append(stats.errors + stats.check_failures == before)
    api.deadline = None
    return _finish(result, stats)
