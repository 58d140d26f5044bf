"""The batch job runner's restart rules on a real database, without Spark: which "running" jobs
belong to a runner that is gone (failed, with the reason) and which to one that is alive (kept)."""

from __future__ import annotations

import socket
import subprocess
import uuid
from dataclasses import replace

from runyard.batch.jobs import STALE_S, BatchRunner
from runyard.services.batch_jobs import BatchJobService
from runyard.services.clock import now_ms
from runyard.store.sql import batch_jobs as sql
from runyard.store.sql.engine import Database
from runyard.store.sql.migrate import ensure_schema

_JOB = sql.BatchJob(
    id="",
    workspace_id=1,
    model_uri="models:/m@champion",
    model_name="m",
    model_version=1,
    input_path="/data/in",
    input_format="parquet",
    output_path="/data/out",
    output_format="parquet",
    result_column="prediction",
    master="local[*]",
    status="running",
    message=None,
    row_count=None,
    tasks_total=None,
    tasks_done=None,
    created_by="alice",
    creation_time=0,
    start_time=0,
    end_time=None,
    runner=None,
    heartbeat_time=None,
)


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_jobs_of_gone_runners_fail_and_jobs_of_live_ones_keep_running(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'runner.db'}")
    ensure_schema(db)
    now, host = now_ms(), socket.gethostname()
    jobs = {
        # another machine, silent for longer than STALE_S: its server died
        "silent": ("elsewhere:41:aaaa", now - int(STALE_S * 1000) - 5_000),
        # another machine, heartbeat just now: a live replica, keep
        "replica": ("elsewhere:42:bbbb", now),
        # this machine, its process is gone: failed at once, heartbeat or not
        "dead-pid": (f"{host}:{_dead_pid()}:cccc", now),
    }
    ids = {}
    for label, (runner, beat) in jobs.items():
        ids[label] = uuid.uuid4().hex
        row = replace(_JOB, id=ids[label], runner=runner, heartbeat_time=beat, creation_time=now)
        db.write(lambda conn, row=row: sql.insert_job(conn, row))
    runner = BatchRunner(BatchJobService(db, "", False, 3600), "127.0.0.1", 5000, concurrency=0)
    runner.start()  # looks for orphans first thing
    runner.stop()
    try:
        with db.read() as conn:
            got = {label: sql.get_any(conn, job_id) for label, job_id in ids.items()}
        assert got["replica"].status == "running" and got["replica"].message is None
        for label, why in (("silent", f"sent no heartbeat for {STALE_S:.0f} s"), ("dead-pid", "stopped")):
            job = got[label]
            assert job.status == "failed", label
            assert f"({jobs[label][0]}) {why} before it finished (found when a server started)" in job.message
            assert "Partial output may remain at /data/out; submit the job again." in job.message
            assert job.end_time is not None
    finally:
        db.close()
