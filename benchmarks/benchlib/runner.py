"""Run a workload on each running server, their repeats interleaved."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from benchlib.client import Api, Stats
from benchlib.ops import create_experiment, create_run, log_batch, metric, now_ms
from benchlib.workloads import WORKLOADS, Workload

WARMUP_REQUESTS = 30
SETTLE_SECONDS = 180.0
QUIET_SECONDS = 60.0  # the most to wait for an idle machine before a timed repeat
QUIET_BUSY = 0.15  # "idle": under this share of the CPU busy


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


def cpu_busy(window: float = 0.25) -> float | None:
    """Share of the machine's CPU time spent busy over ``window`` seconds (None off Linux)."""

    def sample() -> tuple[int, int] | None:
        try:
            with open("/proc/stat") as f:
                fields = [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields[:8]), idle

    first = sample()
    time.sleep(window)
    second = sample()
    if first is None or second is None or second[0] <= first[0]:
        return None
    total, idle = second[0] - first[0], second[1] - first[1]
    return 1.0 - idle / total


def wait_quiet(limit: float = QUIET_SECONDS, busy_below: float = QUIET_BUSY) -> float:
    """Untimed: wait (bounded) until the machine is nearly idle; the seconds waited.

    All servers stay up while the others are measured, so a server still working off
    a backlog (or PostgreSQL writing back a previous workload) must not steal the CPU
    from the next one's timed repeat.
    """
    start = time.monotonic()
    while time.monotonic() - start < limit:
        busy = cpu_busy()
        if busy is None or busy < busy_below:
            break
    return time.monotonic() - start


@dataclass
class Trial:
    """One workload on one server: its data, its repeats so far, and its time budget.

    The budget counts only this server's own time, so interleaving the servers'
    repeats does not shorten anyone's limit.
    """

    api: Api
    workload: Workload
    result: WorkloadResult
    budget: float  # seconds left for this workload on this server
    server_budget: list[float]  # seconds left for this server (shared by its trials)
    prepared: bool = True

    def _spend(self, started: float) -> None:
        spent = time.monotonic() - started
        self.budget -= spent
        self.server_budget[0] -= spent

    def _arm(self) -> float:
        started = time.monotonic()
        self.api.deadline = started + max(0.0, min(self.budget, self.server_budget[0]))
        return started

    @property
    def out_of_time(self) -> bool:
        return self.budget <= 0 or self.server_budget[0] <= 0


def start_trial(api: Api, name: str, budget: float, server_budget: list[float]) -> Trial:
    """Untimed: let the server settle, then ``prepare`` the workload's shared data."""
    settle(api)
    trial = Trial(api, WORKLOADS[name](), WorkloadResult(name), budget, server_budget)
    api.stats = Stats()
    started = trial._arm()
    try:
        trial.workload.prepare(api)
    except Exception as exc:  # a malformed answer must not abort the whole run
        api.stats.check(False, f"prepare: {type(exc).__name__}: {exc}")
        trial.result.note = "prepare failed"
        trial.prepared = False
    finally:
        trial._spend(started)
        api.deadline = None
    return trial


def run_repeat(trial: Trial, rep: int) -> None:
    """One repeat: untimed ``setup``, the timed part, untimed ``verify``."""
    if not trial.prepared:
        return
    if trial.out_of_time:
        if not trial.result.note:
            trial.result.note = f"time limit reached after {rep} repeats"
        return
    api, workload, stats = trial.api, trial.workload, trial.api.stats
    before = stats.errors + stats.check_failures
    started = trial._arm()
    try:
        state = workload.setup(api, rep)
        elapsed = workload.timed(api, state)
        workload.verify(api, state)
    except Exception as exc:  # counted; the next repeat still runs
        stats.check(False, f"repeat {rep}: {type(exc).__name__}: {exc}")
        return
    finally:
        trial._spend(started)
        api.deadline = None
    if trial.out_of_time:
        stats.check(False, f"repeat {rep}: time limit reached (requests were cut off)")
    trial.result.samples.append(elapsed)
    trial.result.clean.append(stats.errors + stats.check_failures == before)


def finish_trial(trial: Trial) -> WorkloadResult:
    return _finish(trial.result, trial.api.stats)
