#!/usr/bin/env python3
"""Scoring benchmark: one scikit-learn model behind a Runyard endpoint vs. ``mlflow models serve``.

Trains and saves a small logistic regression, registers it in a real ``runyard server`` with the
stock mlflow client, creates an endpoint and a deployment through the API and waits until it is
ready; starts ``mlflow models serve -m <dir> --env-manager local`` on the same model files. Then,
per repeat: 16 concurrent keep-alive clients (threads, same code for both) send ``--requests``
``dataframe_split`` requests to each, and one client sends ``--sequential`` requests one by one
straight to the deployment's scoring process and through the endpoint (the router's added
latency). Prints medians over the repeats and writes JSON to benchmarks/results/. Not part of CI:

    .venv/bin/python benchmarks/scoring.py                 # 3 repeats
    .venv/bin/python benchmarks/scoring.py --repeat 5 --requests 5000 --rows 10
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import requests
from benchlib.servers import BENCH_DIR, REPO_DIR, ServerSpec, ServerUnavailable, free_port, running

HOST = "127.0.0.1"
API = "/api/2.0/runyard"
COLUMNS = ["f0", "f1", "f2", "f3"]


@dataclass
class Sample:
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    # CPU time of each server process per request (user + system): robust on a busy machine.
    cpu_ms_per_request: dict[str, float]


def train_and_save(root: Path) -> tuple[Any, Path]:
    """A logistic regression on 4 float features, saved as an MLflow model folder."""
    import mlflow.sklearn
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    x = pd.DataFrame(rng.normal(size=(500, 4)), columns=COLUMNS)
    y = (x["f0"] + x["f1"] > 0).astype(int)
    clf = LogisticRegression().fit(x, y)
    path = root / "model"
    mlflow.sklearn.save_model(clf, path, signature=infer_signature(x, clf.predict(x)))
    return clf, path


def payload(rows: int) -> bytes:
    data = [[round(0.1 * (i + j), 3) for j in range(len(COLUMNS))] for i in range(rows)]
    return json.dumps({"dataframe_split": {"columns": COLUMNS, "data": data}}).encode()


def cpu_s(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def listener(url: str) -> psutil.Process:
    """The process listening on ``url``'s port (loopback, so one of ours)."""
    port = urlsplit(url).port
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
            return psutil.Process(conn.pid)
    raise SystemExit(f"no process listens on port {port}")


def drive(
    url: str, body: bytes, total: int, clients: int, timeout: float, procs: dict[str, psutil.Process]
) -> Sample:
    """``clients`` threads, each on its own keep-alive connection, share ``total`` POSTs."""
    parts = urlsplit(url)
    headers = {"Content-Type": "application/json"}
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    counter = iter(range(total))
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client(i: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        start.wait()
        while True:
            with lock:
                if next(counter, None) is None:
                    break
            t0 = time.perf_counter()
            try:
                conn.request("POST", parts.path, body, headers)
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
            latencies[i].append(time.perf_counter() - t0)
            errors[i] += not ok
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    cpu0 = {name: cpu_s(p) for name, p in procs.items()}
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    cpu = {name: round(1000 * (cpu_s(p) - cpu0[name]) / total, 3) for name, p in procs.items()}
    all_ms = sorted(x * 1000 for lat in latencies for x in lat)
    return Sample(
        requests=len(all_ms),
        errors=sum(errors),
        seconds=round(seconds, 3),
        rps=round(len(all_ms) / seconds, 1),
        p50_ms=round(all_ms[len(all_ms) // 2], 3),
        p99_ms=round(all_ms[min(len(all_ms) - 1, int(0.99 * len(all_ms)))], 3),
        cpu_ms_per_request=cpu,
    )


def register_and_deploy(base: str, model_dir: Path, clf: Any, timeout: float) -> tuple[str, str]:
    """Register the model with the stock client, deploy it; → (endpoint URL, scoring process URL)."""
    import mlflow
    from mlflow import MlflowClient

    os.environ["MLFLOW_TRACKING_URI"] = base
    mlflow.set_tracking_uri(base)
    mlflow.set_experiment("scoring-bench")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(model_dir), "model")
    client = MlflowClient()
    client.create_registered_model("bench-model")
    client.create_model_version("bench-model", f"{run.info.artifact_uri}/model", run_id=run.info.run_id)

    r = requests.post(f"{base}{API}/endpoints", json={"name": "bench"}, timeout=30)
    r.raise_for_status()
    body = {"name": "blue", "model_uri": "models:/bench-model/1", "wait_seconds": int(timeout)}
    r = requests.post(f"{base}{API}/endpoints/bench/deployments", json=body, timeout=timeout + 30)
    r.raise_for_status()
    deadline = time.monotonic() + timeout
    while True:
        ep = requests.get(f"{base}{API}/endpoints/bench", timeout=30).json()["endpoint"]
        if ep["state"] == "ready":
            break
        if ep["state"] == "failed" or time.monotonic() > deadline:
            raise SystemExit(f"deployment did not become ready: {ep}")
        time.sleep(0.2)
    logs = requests.get(f"{base}{API}/endpoints/bench/deployments/blue/logs", timeout=30).json()
    ports = re.findall(r"started pid \d+ on port (\d+)", json.dumps(logs))
    if not ports:
        raise SystemExit(f"cannot find the scoring process's port in the deployment log: {logs}")
    return f"{base}/w/default/endpoints/bench/invocations", f"http://{HOST}:{ports[-1]}/invocations"


def check_answers(urls: dict[str, str], body: bytes, clf: Any, rows: int) -> None:
    """Every server answers the same predictions as the model itself."""
    import pandas as pd

    doc = json.loads(body)["dataframe_split"]
    want = [int(v) for v in clf.predict(pd.DataFrame(doc["data"], columns=doc["columns"]))]
    for name, url in urls.items():
        r = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=30)
        got = r.json().get("predictions") if r.status_code == 200 else r.text
        if got != want:
            raise SystemExit(f"{name} answered {got!r}, expected {want!r}")


def mlflow_serve_spec(mlflow_bin: Path, model_dir: Path, port: int) -> ServerSpec:
    argv = [str(mlflow_bin), "models", "serve", "-m", str(model_dir), "--env-manager", "local"]
    argv += ["-h", HOST, "-p", str(port)]
    # mlflow runs `uvicorn` by name: its venv's bin must come first on PATH.
    path = f"{mlflow_bin.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return ServerSpec("mlflow-serve", argv, {"MLFLOW_DISABLE_TELEMETRY": "true", "PATH": path})


def median_sample(samples: list[Sample]) -> dict[str, float]:
    out = {
        k: round(statistics.median(getattr(s, k) for s in samples), 3)
        for k in ("rps", "p50_ms", "p99_ms", "errors")
    }
    for proc in samples[0].cpu_ms_per_request:
        out[f"cpu_ms_{proc}"] = round(statistics.median(s.cpu_ms_per_request[proc] for s in samples), 3)
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3, help="repeats (medians are reported)")
    parser.add_argument("--requests", type=int, default=3000, help="requests per concurrent run")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--sequential", type=int, default=1000, help="requests per single-client run")
    parser.add_argument("--rows", type=int, default=1, help="rows per dataframe_split request")
    parser.add_argument("--runyard-bin", type=Path, default=REPO_DIR / ".venv" / "bin" / "runyard")
    parser.add_argument(
        "--mlflow-bin",
        type=Path,
        default=REPO_DIR / ".venv" / "bin" / "mlflow",
        help="mlflow executable for `mlflow models serve` (default: the project venv's, same "
        "scikit-learn and pandas as the scoring process)",
    )
    parser.add_argument("--startup-timeout", type=float, default=180.0)
    parser.add_argument("--request-timeout", type=float, default=60.0)
    parser.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    parser.add_argument("--no-json", action="store_true")
    args = parser.parse_args(argv)
    if not 1 <= args.repeat <= 50 or args.requests < 100 or args.sequential < 100 or args.clients < 1:
        parser.error("need 1 <= --repeat <= 50, --requests >= 100, --sequential >= 100, --clients >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load = os.getloadavg()
    if load[0] > 0.5 * (os.cpu_count() or 1):
        print(f"WARNING: machine is busy (load {load[0]:.1f}); timings will be noisy", flush=True)
    body = payload(args.rows)
    with tempfile.TemporaryDirectory(prefix="bench-scoring-") as tmp_name:
        tmp = Path(tmp_name)
        clf, model_dir = train_and_save(tmp)
        ry_port, ml_port = free_port(), free_port()
        (tmp / "runyard").mkdir()
        ry_argv = [str(args.runyard_bin), "server", "--host", HOST, "--port", str(ry_port)]
        ry_argv += ["--backend-store-uri", f"sqlite:///{tmp / 'runyard.db'}"]
        ry_argv += ["--artifacts-destination", str(tmp / "artifacts"), "--serving-dir", str(tmp / "serving")]
        ry_spec = ServerSpec("runyard", ry_argv)
        (tmp / "mlflow").mkdir()
        ml_spec = mlflow_serve_spec(args.mlflow_bin, model_dir, ml_port)
        try:
            with running(ry_spec, ry_port, tmp / "runyard", args.startup_timeout) as ry:
                endpoint_url, direct_url = register_and_deploy(
                    ry.base_url, model_dir, clf, args.startup_timeout
                )
                # mlflow's scoring server answers /health (like /ping), which benchlib waits for.
                with running(ml_spec, ml_port, tmp / "mlflow", args.startup_timeout) as ml:
                    urls = {
                        "runyard": endpoint_url,
                        "mlflow": f"{ml.base_url}/invocations",
                        "direct": direct_url,
                    }
                    check_answers(urls, body, clf, args.rows)
                    results = measure(urls, body, args)
        except ServerUnavailable as exc:
            print(f"ERROR: a server did not start: {exc}", file=sys.stderr)
            return 1
    report(results, args)
    if not args.no_json:
        args.results_dir.mkdir(parents=True, exist_ok=True)
        path = args.results_dir / f"scoring-{time.strftime('%Y%m%dT%H%M%S')}.json"
        meta = {
            "args": {k: str(v) for k, v in vars(args).items()},
            "loadavg_at_start": load,
            "loadavg_at_end": os.getloadavg(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        }
        raw = {k: [asdict(s) for s in v] for k, v in results.items()}
        medians = {k: median_sample(v) for k, v in results.items()}
        path.write_text(json.dumps({"meta": meta, "medians": medians, "samples": raw}, indent=2) + "\n")
        print(f"JSON: {path}")
    return 0


def measure(urls: dict[str, str], body: bytes, args: argparse.Namespace) -> dict[str, list[Sample]]:
    results: dict[str, list[Sample]] = {}
    router, scoring, mlflow = listener(urls["runyard"]), listener(urls["direct"]), listener(urls["mlflow"])
    procs = {
        "runyard": {"router": router, "scoring": scoring},
        "direct": {"scoring": scoring},
        "mlflow": {"mlflow": mlflow},
    }
    for name, url in urls.items():  # warm-up: connections, caches, first-call imports
        drive(url, body, 300, 4, args.request_timeout, procs[name])
    for i in range(args.repeat):
        # Interleaved, so slow drift of the shared machine's load hits every row alike.
        for name in ("runyard", "mlflow"):
            s = drive(urls[name], body, args.requests, args.clients, args.request_timeout, procs[name])
            results.setdefault(f"{name} x{args.clients}", []).append(s)
            print(f"[{i + 1}/{args.repeat}] {name:8} x{args.clients}: {s}", flush=True)
        for name in ("direct", "runyard", "mlflow"):
            s = drive(urls[name], body, args.sequential, 1, args.request_timeout, procs[name])
            results.setdefault(f"{name} x1", []).append(s)
            print(f"[{i + 1}/{args.repeat}] {name:8} x1:  {s}", flush=True)
    return results


def report(results: dict[str, list[Sample]], args: argparse.Namespace) -> None:
    medians = {k: median_sample(v) for k, v in results.items()}
    rows = [["run", "requests/s", "p50 ms", "p99 ms", "server CPU ms/request", "errors"]]
    labels = {
        f"runyard x{args.clients}": f"runyard endpoint, {args.clients} clients",
        f"mlflow x{args.clients}": f"mlflow models serve, {args.clients} clients",
        "direct x1": "scoring process direct, 1 client",
        "runyard x1": "runyard endpoint, 1 client",
        "mlflow x1": "mlflow models serve, 1 client",
    }
    for key, label in labels.items():
        m = medians[key]
        cpu = " + ".join(f"{k[7:]} {v:.2f}" for k, v in m.items() if k.startswith("cpu_ms_"))
        row = [
            label,
            f"{m['rps']:.0f}",
            f"{m['p50_ms']:.2f}",
            f"{m['p99_ms']:.2f}",
            cpu,
            f"{m['errors']:.0f}",
        ]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print()
    print(f"medians over {args.repeat} repeats; {args.rows} row(s) per dataframe_split request")
    for n, r in enumerate(rows):
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
        if n == 0:
            print("-+-".join("-" * w for w in widths))
    ratio = medians[f"runyard x{args.clients}"]["rps"] / medians[f"mlflow x{args.clients}"]["rps"]
    added = medians["runyard x1"]["p50_ms"] - medians["direct x1"]["p50_ms"]
    print(
        f"\nrequests/s runyard / mlflow models serve ({args.clients} clients): {ratio:.2f}x "
        "(>1: Runyard faster)"
    )
    print(f"router's added p50 latency (endpoint - direct, 1 client): {added:+.2f} ms")


if __name__ == "__main__":
    sys.exit(main())
