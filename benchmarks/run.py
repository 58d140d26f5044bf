#!/usr/bin/env python3
"""Run one set of MLflow-REST workloads against Runyard, MLflow and FastTrackML.

The harness starts every server (each on a loopback port, with a fresh temp
dir and database) and warms it up; then, workload by workload, it prepares
the same data on each and runs their timed repeats in turn, each on a quiet
machine, so a slow stretch falls on every server alike. The same client code
drives all three. Prints per-workload medians and ratios
(peer / runyard, so >1 means Runyard is faster) and writes JSON results to
benchmarks/results/<timestamp>.json.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import Any

from benchlib.backends import backend_uri, detect_pg_user
from benchlib.client import Api
from benchlib.ops import SetupError
from benchlib.report import Results, table, write_json
from benchlib.runner import WorkloadResult, finish_trial, run_repeat, start_trial, wait_quiet, warm_up
from benchlib.servers import (
    BENCH_DIR,
    SERVER_NAMES,
    ServerUnavailable,
    build_spec,
    default_binary,
    free_port,
    running,
    workdir_for,
)
from benchlib.workloads import WORKLOADS


def _csv(choices: tuple[str, ...]) -> Any:
    def parse(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in choices]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"choose from {','.join(choices)}; got {text!r}")
        return items

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    workload_help = "\n".join(f"  {name:20} {cls.summary}" for name, cls in WORKLOADS.items())
    parser = argparse.ArgumentParser(
        description=__doc__,
        epilog="workloads:\n" + workload_help,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--servers",
        type=_csv(SERVER_NAMES),
        default=list(SERVER_NAMES),
        help="comma-separated subset of %(default)s",
    )
    parser.add_argument(
        "--workloads",
        type=_csv(tuple(WORKLOADS)),
        default=list(WORKLOADS),
        help="comma-separated subset (default: all, see below)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats per workload (median)")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--pg-user", default=None, help="PostgreSQL role on 127.0.0.1:5432 (default: try postgres, then root)"
    )
    for name in SERVER_NAMES:
        parser.add_argument(
            f"--{name}-bin",
            type=Path,
            default=default_binary(name),
            help=f"{name} executable (default: %(default)s)",
        )
    parser.add_argument(
        "--mlflow-workers",
        type=int,
        default=None,
        help="mlflow server --workers (default: mlflow's own default)",
    )
    parser.add_argument(
        "--startup-timeout", type=float, default=120.0, help="seconds to wait for GET /health == 200"
    )
    parser.add_argument("--request-timeout", type=float, default=120.0, help="per HTTP request")
    parser.add_argument(
        "--time-limit",
        type=float,
        default=3000.0,
        help="seconds of its own time per server; past it, requests are cut off and repeats skipped",
    )
    parser.add_argument(
        "--workload-time-limit",
        type=float,
        default=900.0,
        help="seconds per workload and server (prepare + all its repeats), enforced the same way",
    )
    parser.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    parser.add_argument("--no-json", action="store_true", help="do not write the JSON results file")
    args = parser.parse_args(argv)
    if not 1 <= args.repeat <= 100:
        parser.error("--repeat must be between 1 and 100")
    return args


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def start_server(
    stack: ExitStack, name: str, args: argparse.Namespace, pg_user: str | None, meta: dict[str, Any]
) -> Api | None:
    """Start and warm up one server (stopped when ``stack`` closes); None if it is unavailable."""
    binary: Path = getattr(args, f"{name}_bin")
    if not binary.is_file():
        meta["note"] = f"skipped: command not found: {binary}"
        print(f"NOTE: skipping {name}: command not found: {binary}", flush=True)
        return None
    workdir = stack.enter_context(workdir_for(name))
    uri = stack.enter_context(backend_uri(name, args.backend, workdir, pg_user))
    port = free_port()
    spec = build_spec(name, binary, port, workdir, uri, args.mlflow_workers)
    meta.update(argv=spec.argv, env=spec.env, version=spec.version)
    try:
        srv = stack.enter_context(running(spec, port, workdir, args.startup_timeout))
    except ServerUnavailable as exc:
        meta["note"] = f"skipped: did not start: {exc}"
        print(f"NOTE: skipping {name}: did not start: {exc}", flush=True)
        return None
    meta["startup_seconds"] = round(srv.startup_seconds, 2)
    meta["loadavg_at_start"] = os.getloadavg()
    print(f"[{name}] {spec.version} up at {srv.base_url} in {srv.startup_seconds:.1f}s", flush=True)
    api = Api(srv.base_url, timeout=args.request_timeout)
    try:
        warm = warm_up(api)
    except SetupError as exc:
        meta["note"] = f"skipped: warm-up failed: {exc}; {api.stats.error_samples}"
        print(f"NOTE: skipping {name}: warm-up failed: {api.stats.error_samples}", flush=True)
        return None
    meta["warmup_errors"] = warm.errors + warm.check_failures
    if meta["warmup_errors"]:
        print(f"[{name}] WARNING warm-up errors: {warm.error_samples}", flush=True)
    return api


def bench_workload(
    workload: str, apis: dict[str, Api], budgets: dict[str, list[float]], args: argparse.Namespace
) -> dict[str, WorkloadResult]:
    """Prepare ``workload`` on every server, then run its repeats in turn: one server's
    repeat, then the next's, the order rotating each round, each after the machine is quiet.
    A slow or noisy stretch of minutes thus falls on every server alike."""
    limit = args.workload_time_limit
    trials = {name: start_trial(api, workload, limit, budgets[name]) for name, api in apis.items()}
    names = list(trials)
    for rep in range(args.repeat):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            wait_quiet()
            run_repeat(trials[name], rep)
    results = {}
    for name, trial in trials.items():
        res = results[name] = finish_trial(trial)
        shown = res.median if res.median is not None else res.median_all
        median = (
            "n/a" if shown is None else f"{shown * 1000:.1f} ms" + ("" if res.median is not None else "!")
        )
        print(
            f"[{name}] {workload:20} median {median:>11}  samples {len(res.samples)}  "
            f"requests {res.requests}  errors {res.errors} {res.note}"
            + (f" ({res.cut_off} calls cut off)" if res.cut_off else ""),
            flush=True,
        )
        for sample in res.error_samples[:3]:
            print(f"[{name}]     {sample}", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    pg_user = detect_pg_user(args.pg_user) if args.backend == "postgres" else None
    load_start = os.getloadavg()
    if load_start[0] > 0.5 * (os.cpu_count() or 1):
        print(f"WARNING: machine is busy (load {load_start[0]:.1f}); timings will be noisy", flush=True)
    results: Results = {}
    server_meta: dict[str, dict[str, Any]] = {name: {} for name in args.servers}
    with ExitStack() as stack:
        apis: dict[str, Api] = {}
        for name in args.servers:
            api = start_server(stack, name, args, pg_user, server_meta[name])
            if api is not None:
                apis[name] = api
        budgets = {name: [args.time_limit] for name in apis}
        for workload in args.workloads:
            for name, res in bench_workload(workload, apis, budgets, args).items():
                results.setdefault(name, {})[workload] = res
    print()
    print(
        f"medians in ms over {args.repeat} repeats, backend={args.backend}; "
        "ratio = peer/runyard (>1: Runyard faster)"
    )
    print(table(results, args.servers, args.workloads))
    print(
        "medians use only repeats without errors; (k/n) = only k of n repeats were error-free; "
        "'!' = every repeat had errors (median of all)"
    )
    for name, meta in server_meta.items():
        if "note" in meta:
            print(f"NOTE: {name} {meta['note'].splitlines()[0]}")
    if not args.no_json:
        run_meta = {
            "loadavg_start": load_start,
            "loadavg_end": os.getloadavg(),
            "backend": args.backend,
            "repeat": args.repeat,
            "servers": server_meta,
            "workloads": {w: WORKLOADS[w].summary for w in args.workloads},
        }
        print(f"results: {write_json(args.results_dir, run_meta, results)}")
    return 0 if results else 2


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as exc:
        print(f"interrupted ({exc or 'SIGINT'}); servers stopped, temp dirs removed", file=sys.stderr)
        sys.exit(130)
