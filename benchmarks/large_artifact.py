#!/usr/bin/env python3
"""A large artifact round trip through ``runyard server`` on S3 (SeaweedFS) and Azure (Azurite).

For each store: start the store and a server on it, log one file with the stock mlflow client
(as it sends a file that size by default: multipart from 500 MB; and again as one streamed PUT),
download it, check its sha256, and sample the server process's RSS (psutil, every 20 ms) the
whole time. Each (store, mode) gets a fresh store and server. Memory should stay flat
whatever the size. Not part of the tests:

    .venv/bin/python benchmarks/large_artifact.py --size-mb 1024
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test helpers that start SeaweedFS, Azurite and the server

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from tests.support.azurite import Azurite  # noqa: E402
from tests.support.memory import PeakRss  # noqa: E402
from tests.support.seaweedfs import SeaweedFS  # noqa: E402
from tests.support.server import RunyardServer  # noqa: E402

MiB = 1 << 20


def make_file(path: Path, size_mb: int) -> str:
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(size_mb):
            block = os.urandom(MiB)
            digest.update(block)
            f.write(block)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(8 * MiB):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def server_on(store: str, work: Path) -> Iterator[RunyardServer]:
    if store == "s3":
        backing: SeaweedFS | Azurite = SeaweedFS(work / "seaweedfs")
        (work / "seaweedfs").mkdir()
        backing.start()
        backing.create_bucket("bench-artifacts")
        destination = "s3://bench-artifacts/runyard"
    else:
        backing = Azurite(work / "azurite")
        (work / "azurite").mkdir()
        backing.start()
        backing.create_container("bench-artifacts")
        destination = "wasbs://bench-artifacts@devstoreaccount1.blob.core.windows.net/runyard"
    server = RunyardServer(
        f"sqlite:///{work / 'runyard.db'}",
        work / "unused",
        "--artifacts-destination",
        destination,
        env=backing.env(),
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()
        backing.stop()


def round_trip(server: RunyardServer, big: Path, expected: str, mode: str, work: Path) -> dict:
    # "put": one streamed PUT, as the client sends files under 500 MB; "multipart": parts of
    # MLflow's default size, as it sends larger files (forced here whatever --size-mb is).
    threshold = 1 << 40 if mode == "put" else 1
    os.environ["MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE"] = str(threshold)
    mlflow.set_tracking_uri(server.url)
    mlflow.set_experiment(f"large-{mode}")
    client = MlflowClient()
    with mlflow.start_run() as run:
        mlflow.log_text("warm-up", "warmup.txt")  # first-request allocations are not growth
        rss = PeakRss(server.proc.pid)  # type: ignore[union-attr]
        with rss:
            t0 = time.monotonic()
            mlflow.log_artifact(str(big), artifact_path="data")
            t1 = time.monotonic()
            dst = work / f"download-{mode}"
            dst.mkdir()
            got = Path(client.download_artifacts(run.info.run_id, f"data/{big.name}", str(dst)))
            t2 = time.monotonic()
    ok = sha256_of(got) == expected
    got.unlink()
    size_mb = big.stat().st_size / MiB
    return {
        "mode": mode,
        "size_mb": size_mb,
        "upload_s": round(t1 - t0, 1),
        "download_s": round(t2 - t1, 1),
        "upload_mb_s": round(size_mb / (t1 - t0), 1),
        "download_mb_s": round(size_mb / (t2 - t1), 1),
        "rss_baseline_mb": round(rss.baseline / MiB),
        "rss_peak_mb": round(rss.peak / MiB),
        "rss_growth_mb": round(rss.growth / MiB),
        "sha256_ok": ok,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="artifact size in MiB (default 1024)")
    parser.add_argument("--stores", default="s3,azure", help="comma-separated: s3, azure")
    parser.add_argument("--modes", default="multipart,put", help="comma-separated: multipart, put")
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "600")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    results = []
    with tempfile.TemporaryDirectory(prefix="runyard-large-") as tmp:
        work = Path(tmp)
        big = work / "artifact.bin"
        print(f"writing a {args.size_mb} MiB file...", flush=True)
        expected = make_file(big, args.size_mb)
        for store in args.stores.split(","):
            for mode in args.modes.split(","):
                # A fresh store and server for each: every baseline is a server that just started.
                store_dir = work / f"{store}-{mode}"
                store_dir.mkdir()
                with server_on(store, store_dir) as server:
                    result = {"store": store, **round_trip(server, big, expected, mode, store_dir)}
                print(json.dumps(result), flush=True)
                results.append(result)
                shutil.rmtree(store_dir, ignore_errors=True)
    print()
    header = ("store", "mode", "up MB/s", "down MB/s", "RSS base", "RSS peak", "growth")
    print("{:6} {:9} {:>8} {:>9} {:>9} {:>9} {:>7}".format(*header))
    for r in results:
        print(
            f"{r['store']:6} {r['mode']:9} {r['upload_mb_s']:>8} {r['download_mb_s']:>9} "
            f"{r['rss_baseline_mb']:>8}M {r['rss_peak_mb']:>8}M {r['rss_growth_mb']:>6}M"
            f"{'' if r['sha256_ok'] else '  SHA MISMATCH'}"
        )


if __name__ == "__main__":
    main()
