"""MLflow REST operations shared by the workloads (built on :class:`Api`)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from benchlib.client import Api, Json

MAX_PAGES = 100


class SetupError(Exception):
    """A request the workload cannot go on without has failed."""


def now_ms() -> int:
    return int(time.time() * 1000)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def metric(key: str, value: float, step: int, ts: int) -> Json:
    return {"key": key, "value": value, "timestamp": ts, "step": step}


def param(key: str, value: str) -> Json:
    return {"key": key, "value": value}


def create_experiment(api: Api, prefix: str) -> str:
    body = api.post("experiments/create", {"name": unique(prefix)})
    exp_id = body.get("experiment_id") if body else None
    if not exp_id:
        raise SetupError("experiments/create returned no experiment_id")
    return str(exp_id)


def create_run(api: Api, exp_id: str, name: str) -> str | None:
    """Create a run the way the stock client does; ``None`` on failure."""
    body = api.post(
        "runs/create",
        {
            "experiment_id": exp_id,
            "start_time": now_ms(),
            "run_name": name,
            "tags": [
                {"key": "mlflow.runName", "value": name},
                {"key": "mlflow.user", "value": "bench"},
                {"key": "mlflow.source.type", "value": "LOCAL"},
                {"key": "mlflow.source.name", "value": "benchmarks/run.py"},
            ],
        },
    )
    info = ((body or {}).get("run") or {}).get("info") or {}
    run_id = info.get("run_id") or info.get("run_uuid")
    api.stats.check(bool(run_id), "runs/create returned no run_id")
    return str(run_id) if run_id else None


def must_create_run(api: Api, exp_id: str, name: str) -> str:
    run_id = create_run(api, exp_id, name)
    if run_id is None:
        raise SetupError("runs/create failed")
    return run_id


def log_batch(
    api: Api,
    run_id: str,
    metrics: list[Json] | None = None,
    params: list[Json] | None = None,
) -> bool:
    body = api.post(
        "runs/log-batch",
        {"run_id": run_id, "metrics": metrics or [], "params": params or [], "tags": []},
    )
    return body is not None


def finish_run(api: Api, run_id: str) -> bool:
    body = api.post("runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": now_ms()})
    return body is not None


def get_run(api: Api, run_id: str) -> Json:
    body = api.get("runs/get", {"run_id": run_id})
    run = (body or {}).get("run")
    if not isinstance(run, dict):
        raise SetupError("runs/get returned no run")
    return run


def paged(
    api: Api,
    fetch: Callable[[str | None], Json | None],
    key: str,
    want: int,
) -> list[Any]:
    """Follow ``next_page_token`` until ``want`` items or no token (bounded)."""
    items: list[Any] = []
    token: str | None = None
    for _ in range(MAX_PAGES):
        body = fetch(token)
        if body is None:
            break
        items.extend(body.get(key) or [])
        token = body.get("next_page_token") or None
        if not token or len(items) >= want:
            break
    return items


def search_runs(api: Api, body: Json, want: int) -> list[Json]:
    def fetch(token: str | None) -> Json | None:
        page = dict(body, page_token=token) if token else body
        return api.post("runs/search", page)

    return paged(api, fetch, "runs", want)


def run_parallel(api: Api, count: int, worker: Callable[[int], None]) -> float:
    """Start ``count`` threads, release them together; return wall seconds.

    Thread creation is outside the timed span; each thread closes its own
    session afterwards. An exception in a worker counts as a failed check.
    """
    go = threading.Event()

    def body(index: int) -> None:
        go.wait()
        try:
            worker(index)
        except Exception as exc:  # counted as a failed check
            api.stats.check(False, f"worker {index}: {type(exc).__name__}: {exc}")
        finally:
            api.close_thread_session()

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    go.set()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def parallel_map(api: Api, count: int, workers: int, fn: Callable[[int], object]) -> None:
    """Untimed helper for set-up: run ``fn(i)`` for ``i < count`` on a few threads."""
    lock = threading.Lock()
    next_index = [0]

    def worker(_: int) -> None:
        while True:
            with lock:
                index = next_index[0]
                next_index[0] += 1
            if index >= count:
                return
            fn(index)

    run_parallel(api, min(workers, count), worker)
