#!/usr/bin/env python3
"""Scale benchmark: 1,000,000 runs in one workspace on PostgreSQL, then time a filtered,
metric-ordered search_runs first page and watch server memory during a 1,000,000-point
get-history (compared with a 10,000-point one).

The rows are generated straight into the database (INSERT ... SELECT over generate_series, in
chunks) in exactly the shape the store writes: runs, their tags and params, latest_metrics,
and the metric history of one run. Not part of CI.

    .venv/bin/python benchmarks/scale.py                   # fresh DB bench_scale, dropped at the end
    .venv/bin/python benchmarks/scale.py --keep            # keep it; --reuse next time skips generation
    .venv/bin/python benchmarks/scale.py --runs 100000 --points 100000 --repeat 10
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil
import psycopg
import requests
from benchlib.backends import PG_HOST, PG_PORT, detect_pg_user
from benchlib.servers import REPO_DIR, free_port
from tqdm import tqdm

API = "/api/2.0/mlflow"
FILTER = "metrics.rmse < 0.5 and params.alpha = '0.1'"
ORDER_BY = ["metrics.rmse"]
CHUNK = 100_000
ALPHAS = "ARRAY['0.1','0.2','0.3','0.4','0.5','0.6','0.7','0.8','0.9','1.0']"
T0 = 1_700_000_000_000

# One statement per table and chunk of run numbers [lo, hi]; md5('scale-run-' || i) is the
# run id (32 hex chars, like uuid4().hex), recomputed identically in every table.
_RUN_ID = "md5('scale-run-' || i)"
_RUNS = f"""
INSERT INTO runs (run_uuid, workspace_id, experiment_id, name, user_id, status, start_time,
                  end_time, deleted_time, lifecycle_stage, artifact_uri)
SELECT {_RUN_ID}, %(wid)s, %(eid)s, 'run-' || i, 'bench', 'FINISHED', {T0} + i, {T0} + i + 60000,
       NULL, 'active', %(location)s || '/' || {_RUN_ID} || '/artifacts'
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i
"""
_TAGS = f"""
INSERT INTO tags (workspace_id, run_uuid, key, value)
SELECT %(wid)s, {_RUN_ID}, k, CASE k WHEN 'mlflow.runName' THEN 'run-' || i ELSE 'bench' END
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i
CROSS JOIN (VALUES ('mlflow.runName'), ('mlflow.user')) AS t(k)
"""
_PARAMS = f"""
INSERT INTO params (workspace_id, run_uuid, key, value)
SELECT %(wid)s, {_RUN_ID}, k,
       CASE k WHEN 'alpha' THEN ({ALPHAS})[i %% 10 + 1] ELSE round(random()::numeric, 3)::text END
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i CROSS JOIN (VALUES ('alpha'), ('l1_ratio')) AS p(k)
"""
_LATEST = f"""
INSERT INTO latest_metrics (workspace_id, run_uuid, key, value, timestamp, step, is_nan)
SELECT %(wid)s, {_RUN_ID}, k, CASE k WHEN 'rmse' THEN g.v ELSE 1 - g.v END, {T0} + i, 0, false
FROM (SELECT i, random() AS v FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i) AS g
CROSS JOIN (VALUES ('rmse'), ('r2')) AS m(k)
"""
_HISTORY = f"""
INSERT INTO metrics (workspace_id, run_uuid, key, value, timestamp, step, is_nan)
SELECT %(wid)s, %(run_id)s, %(key)s, sin(i / 1000.0), {T0} + i, i, false
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i
"""
_HISTORY_LATEST = f"""
INSERT INTO latest_metrics (workspace_id, run_uuid, key, value, timestamp, step, is_nan)
VALUES (%(wid)s, %(run_id)s, %(key)s, sin(%(last)s / 1000.0), {T0} + %(last)s, %(last)s, false)
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1_000_000, help="runs to generate")
    parser.add_argument("--points", type=int, default=1_000_000, help="points of the long metric history")
    parser.add_argument("--short-points", type=int, default=10_000, help="points of the short history")
    parser.add_argument("--repeat", type=int, default=30, help="timed searches per page size")
    parser.add_argument("--database", default="bench_scale")
    parser.add_argument("--pg-user", default=None, help="default: postgres, then root (trust auth)")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--reuse", action="store_true", help="reuse a database a --keep run left")
    parser.add_argument("--runyard-bin", type=Path, default=REPO_DIR / ".venv" / "bin" / "runyard")
    return parser.parse_args()


def _admin(user: str) -> psycopg.Connection:
    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=user, dbname="postgres", autocommit=True)


def _db_exists(user: str, name: str) -> bool:
    with _admin(user) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


@contextmanager
def server(binary: Path, db_url: str, workdir: Path) -> Iterator[tuple[str, psutil.Process]]:
    port = free_port()
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - closed below
    argv = [str(binary), "server", "--host", "127.0.0.1", "--port", str(port), "--backend-store-uri", db_url]
    argv += ["--artifacts-destination", str(workdir / "artifacts")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_")}
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((workdir / "server.log").read_text(errors="replace")[-3000:])
            try:
                if requests.get(base + "/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        yield base, psutil.Process(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _post(base: str, path: str, body: dict) -> dict:
    r = requests.post(base + API + path, json=body, timeout=300)
    r.raise_for_status()
    return r.json()


def generate(base: str, conn: psycopg.Connection, args: argparse.Namespace) -> None:
    """Create the experiment and one real run through the API, then bulk-generate the rest."""
    eid = _post(base, "/experiments/create", {"name": "scale"})["experiment_id"]
    run_id = _post(base, "/runs/create", {"experiment_id": eid, "run_name": "history"})["run"]["info"][
        "run_id"
    ]
    wid, location = conn.execute(
        "SELECT workspace_id, artifact_location FROM experiments WHERE experiment_id = %s", (int(eid),)
    ).fetchone()
    ids = {"wid": wid, "eid": int(eid), "location": location or ""}
    conn.execute("SELECT setseed(0.42)")
    total = args.runs * 7 + args.points + args.short_points
    with tqdm(total=total, unit="row", unit_scale=True, desc="generate") as bar:
        for lo in range(0, args.runs, CHUNK):
            hi = min(args.runs, lo + CHUNK) - 1
            for sql, per_run in ((_RUNS, 1), (_TAGS, 2), (_PARAMS, 2), (_LATEST, 2)):
                conn.execute(sql, {**ids, "lo": lo, "hi": hi})
                bar.update((hi - lo + 1) * per_run)
            conn.commit()
        for key, n in (("long", args.points), ("short", args.short_points)):
            for lo in range(0, n, CHUNK):
                hi = min(n, lo + CHUNK) - 1
                conn.execute(_HISTORY, {"wid": wid, "run_id": run_id, "key": key, "lo": lo, "hi": hi})
                bar.update(hi - lo + 1)
            conn.execute(_HISTORY_LATEST, {"wid": wid, "run_id": run_id, "key": key, "last": n - 1})
            conn.commit()
    # What autovacuum does within a minute of a bulk load (and `runyard import` does at once):
    # statistics, and the visibility map that lets searches probe params and metrics index-only.
    print("vacuum analyze ...", flush=True)
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE")
    conn.autocommit = False


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_search(base: str, eid: str, repeat: int, max_results: int) -> dict:
    body = {"experiment_ids": [eid], "filter": FILTER, "order_by": ORDER_BY, "max_results": max_results}
    session = requests.Session()
    times = []
    for _ in range(repeat + 2):  # two untimed warm-up calls
        start = time.perf_counter()
        r = session.post(base + API + "/runs/search", json=body, timeout=300)
        times.append(time.perf_counter() - start)
        r.raise_for_status()
    runs = r.json().get("runs", [])
    rmse = [next(m["value"] for m in x["data"]["metrics"] if m["key"] == "rmse") for x in runs]
    alphas = {next(p["value"] for p in x["data"]["params"] if p["key"] == "alpha") for x in runs}
    assert len(runs) == max_results, f"{len(runs)} runs on the first page, want {max_results}"
    assert rmse == sorted(rmse) and max(rmse) < 0.5 and alphas == {"0.1"}, "wrong page"
    timed = [t * 1000 for t in times[2:]]
    return {"p50_ms": statistics.median(timed), "p95_ms": _pct(timed, 0.95), "min_ms": min(timed)}


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


def watch_rss(proc: psutil.Process, work: Callable[[], int]) -> dict:
    """Run ``work`` while sampling the server's RSS every 5 ms; report its growth."""
    before = _tree_rss(proc)
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        points = work()
    finally:
        done.set()
        sampler.join()
    return {
        "points": points,
        "seconds": round(time.perf_counter() - start, 2),
        "rss_before_mb": round(before / 2**20, 1),
        "rss_peak_mb": round(peak / 2**20, 1),
        "rss_growth_mb": round((peak - before) / 2**20, 1),
    }


def unpaged_history(base: str, run_id: str, key: str) -> Callable[[], int]:
    """One GET without max_results, the body read as it streams and then checked."""

    def work() -> int:
        params = {"run_id": run_id, "metric_key": key}
        with requests.get(base + API + "/metrics/get-history", params=params, stream=True, timeout=600) as r:
            r.raise_for_status()
            body = b"".join(r.iter_content(1 << 20))
        steps = [m["step"] for m in json.loads(body)["metrics"]]
        assert steps == list(range(len(steps))), "history out of order"
        return len(steps)

    return work


def client_history(base: str, run_id: str, key: str) -> Callable[[], int]:
    """What the stock mlflow client does: pages of max_results=25,000 following next_page_token."""

    def work() -> int:
        session, token, n = requests.Session(), None, 0
        while True:
            params = {"run_id": run_id, "metric_key": key, "max_results": 25000}
            if token:
                params["page_token"] = token
            page = session.get(base + API + "/metrics/get-history", params=params, timeout=600).json()
            steps = [m["step"] for m in page.get("metrics", [])]
            assert steps == list(range(n, n + len(steps))), "history out of order across pages"
            n += len(steps)
            token = page.get("next_page_token")
            if not token:
                return n

    return work


def main() -> int:
    args = parse_args()
    user = detect_pg_user(args.pg_user)
    db_url = f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{args.database}"
    reuse = args.reuse and _db_exists(user, args.database)
    if not reuse:
        with _admin(user) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{args.database}"')
    results: dict = {"runs": args.runs, "points": args.points, "filter": FILTER, "order_by": ORDER_BY}
    try:
        with (
            tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp,
            server(args.runyard_bin, db_url, Path(tmp)) as (base, proc),
            psycopg.connect(db_url) as conn,
        ):
            if not reuse:
                generate(base, conn, args)
            eid = str(
                conn.execute("SELECT experiment_id FROM experiments WHERE name = 'scale'").fetchone()[0]
            )
            run_id = conn.execute("SELECT run_uuid FROM runs WHERE name = 'history'").fetchone()[0]
            count = conn.execute("SELECT count(*) FROM runs WHERE experiment_id = %s", (int(eid),)).fetchone()
            conn.rollback()
            print(f"{count[0]:,} runs in experiment {eid}; server {base}", flush=True)
            for size in (100, 1000):
                results[f"search_first_page_{size}"] = r = bench_search(base, eid, args.repeat, size)
                print(f"search first page max_results={size}: {r}", flush=True)
            for name, key in (("short", "short"), ("long", "long")):
                for how, work in (("unpaged", unpaged_history), ("client_pages", client_history)):
                    results[f"history_{name}_{how}"] = r = watch_rss(proc, work(base, run_id, key))
                    print(f"get-history {name} ({how}): {r}", flush=True)
    finally:
        if not args.keep:
            with _admin(user) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
