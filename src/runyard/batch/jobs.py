"""The batch job runner inside each server process: claims queued jobs, runs each in its own child
process (``runyard.batch.child``, never Spark in the server), records progress, result and errors.

How the child reads the model: the runner mints a short-lived access token of the job's creator
(revoked when the job ends) and gives it, with the server's own address and the job's workspace,
as MLFLOW_TRACKING_URI / MLFLOW_TRACKING_TOKEN. The child then loads ``models:/name/<version>`` —
the version resolved at submit time — with the stock mlflow client, exactly as a user's notebook
would: no second copy of the artifact logic in the server, the creator's own rights apply, and it
works with every artifact store and with a cluster master (the driver, our child, downloads the
model once; spark_udf ships it to the executors).

Restarts: runners are named host:pid:nonce and write a heartbeat while their jobs run. On start,
a job still "running" under a runner of this host whose process is gone (or which was this very
process's pid in an earlier life, as in a container) is marked failed at once; a job whose runner
sends no heartbeat for STALE_S (a dead replica elsewhere) is marked failed by any runner's sweep.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass

from runyard.batch.child import PREFIX
from runyard.entities import BatchJob
from runyard.services.batch_jobs import BatchJobService
from runyard.services.clock import now_ms
from runyard.store.sql.batch_jobs import FAILED, RUNNING, SUCCEEDED

log = logging.getLogger("runyard.batch")

HEARTBEAT_S = 2.0
STALE_S = 60.0
_POLL_S = 1.0
_SWEEP_S = 15.0
_KILL_GRACE_S = 10.0
_TAIL_LINES = 30


def _pid_alive(pid: int) -> bool:
    if pid <= 0:  # not a pid we wrote (and kill(-1, 0) would ask about every process)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


@dataclass
class _Progress:
    done: int | None = None
    total: int | None = None
    rows: int | None = None
    seconds: float | None = None
    error: str | None = None


class BatchRunner:
    def __init__(self, service: BatchJobService, host: str, port: int, concurrency: int) -> None:
        self.service = service
        # The child reaches this server on loopback when it listens on every address.
        loopback = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1", "[::]": "::1"}.get(host, host)
        if ":" in loopback and not loopback.startswith("["):
            loopback = f"[{loopback}]"
        self.server_url = f"http://{loopback}:{port}"
        self.concurrency = max(0, concurrency)
        self.host = socket.gethostname()
        self.name = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._workers: dict[str, threading.Thread] = {}
        self._procs: dict[str, subprocess.Popen[str]] = {}
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self._fail_orphans(at_start=True)
        self._thread = threading.Thread(target=self._loop, name="runyard-batch-runner", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Server shutdown: stop the children; their jobs fail with a message saying why."""
        self._stop.set()
        self._wake.set()
        with self._lock:
            procs = list(self._procs.values())
        for proc in procs:
            _terminate(proc)
        for worker in list(self._workers.values()):
            worker.join(timeout=_KILL_GRACE_S + 5)
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- the loop ----------------------------------------------------------------------------
    def _loop(self) -> None:
        last_sweep = time.monotonic()
        while not self._stop.is_set():
            try:
                if time.monotonic() - last_sweep > _SWEEP_S:
                    last_sweep = time.monotonic()
                    self._fail_orphans(at_start=False)
                free = self.concurrency - len(self._workers)
                for job in self.service.claim_next(self.name, free):
                    worker = threading.Thread(
                        target=self._run, args=(job,), name=f"runyard-batch-{job.id[:8]}", daemon=True
                    )
                    with self._lock:
                        self._workers[job.id] = worker
                    worker.start()
            except Exception:  # a database hiccup must not end the loop for the life of the server
                log.exception("batch runner: claiming jobs failed; retrying")
            self._wake.wait(_POLL_S)
            self._wake.clear()

    def _fail_orphans(self, at_start: bool) -> None:
        now = now_ms()
        for job in self.service.running():
            if job.runner == self.name:
                continue
            host, _, rest = (job.runner or "").partition(":")
            pid = int(rest.split(":", 1)[0]) if rest.split(":", 1)[0].isdigit() else -1
            local_dead = host == self.host and (pid == os.getpid() or not _pid_alive(pid))
            stale = (now - (job.heartbeat_time or 0)) > STALE_S * 1000
            if local_dead or stale:
                why = "stopped" if local_dead else f"sent no heartbeat for {STALE_S:.0f} s"
                message = (
                    f"The server process running this job ({job.runner}) {why} before it finished"
                    f"{' (found when a server started)' if at_start else ''}. Partial output may remain "
                    f"at {job.output_path}; submit the job again."
                )
                if self.service.fail_orphan(job, message):
                    log.warning("batch job %s marked failed: %s", job.id, message)

    # -- one job -----------------------------------------------------------------------------
    def _run(self, job: BatchJob) -> None:
        token_id = None
        try:
            credential = self.service.child_credential(job)
            token_id = credential[0] if credential else None
            self._supervise(job, credential[1] if credential else None)
        except Exception as exc:
            log.exception("batch job %s failed in the runner", job.id)
            self.service.finish(job, self.name, FAILED, f"The runner failed: {exc}")
        finally:
            if token_id is not None:
                try:
                    self.service.revoke_credential(token_id)
                except Exception:  # it expires on its own anyway
                    log.warning("could not revoke the access token of batch job %s", job.id)
            with self._lock:
                self._workers.pop(job.id, None)
                self._procs.pop(job.id, None)
            self._wake.set()

    def _child_env(self, job: BatchJob, token: str | None) -> dict[str, str]:
        # Only the job's own credential: never the server's settings (its database URI) nor an
        # operator's login. Other MLFLOW_* (e.g. MLFLOW_S3_ENDPOINT_URL) and cloud variables stay:
        # the model's files may live in a store the server reaches with them.
        dropped = ("RUNYARD_", "MLFLOW_TRACKING_", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
        workspace = self.service.workspace_name(job.workspace_id)
        env["MLFLOW_TRACKING_URI"] = f"{self.server_url}/w/{workspace}"
        if token is not None:
            env["MLFLOW_TRACKING_TOKEN"] = token
        env.setdefault("PYSPARK_PYTHON", sys.executable)
        return env

    def _supervise(self, job: BatchJob, token: str | None) -> None:
        spec = {
            "model_uri": f"models:/{job.model_name}/{job.model_version}",
            "input": job.input_path,
            "output": job.output_path,
            "input_format": job.input_format,
            "output_format": job.output_format,
            "result_column": job.result_column,
            "master": job.master,
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "runyard.batch.child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self._child_env(job, token),
            start_new_session=True,  # its own process group: a cancel stops the JVM with it
        )
        with self._lock:
            self._procs[job.id] = proc
        if self._stop.is_set():  # the server began stopping while this job was being claimed
            _terminate(proc)
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.write(json.dumps(spec) + "\n")
        proc.stdin.flush()  # and keep it open: closing it tells the child to stop
        state = _Progress()
        tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        readers = [
            threading.Thread(target=_read_events, args=(proc.stdout, state, tail), daemon=True),
            threading.Thread(target=_read_tail, args=(proc.stderr, tail), daemon=True),
        ]
        for reader in readers:
            reader.start()
        cancelled = False
        while True:
            try:
                proc.wait(timeout=HEARTBEAT_S)
                break
            except subprocess.TimeoutExpired:
                pass
            status = self.service.heartbeat(job, self.name, state.done, state.total)
            if status != RUNNING and not cancelled:
                cancelled = True  # cancelled through the API (or failed by a sweep): stop scoring
                _terminate(proc)
        for reader in readers:
            reader.join(timeout=5)
        with contextlib.suppress(OSError):
            proc.stdin.close()
        self._record(job, proc.returncode, state, tail, cancelled)

    def _record(
        self, job: BatchJob, code: int, state: _Progress, tail: collections.deque[str], cancelled: bool
    ) -> None:
        if cancelled:
            return  # the cancel already wrote the final status and message
        if code == 0 and state.rows is not None:
            seconds = state.seconds or 0.0
            rate = f"{state.rows / seconds:,.0f} rows/s" if seconds > 0 else "instant"
            message = (
                f"Wrote {state.rows:,} rows to {job.output_path} ({job.output_format}) "
                f"in {seconds:.1f} s of Spark work ({rate})."
            )
            if state.total is not None:
                self.service.heartbeat(job, self.name, state.total, state.total)
            self.service.finish(job, self.name, SUCCEEDED, message, state.rows)
            return
        if self._stop.is_set():
            message = "The server stopped while the job ran; submit it again."
        elif state.error is not None:
            message = state.error
        else:
            last = next((line for line in reversed(tail) if line.strip()), "")
            message = f"The scoring process exited with code {code}" + (f": {last}" if last else ".")
        self.service.finish(job, self.name, FAILED, message[:8000])


def _read_events(stream, state: _Progress, tail: collections.deque[str]) -> None:  # noqa: ANN001
    for line in stream:
        if not line.startswith(PREFIX):
            tail.append(line.rstrip())
            continue
        try:
            event = json.loads(line[len(PREFIX) :])
        except ValueError:
            continue
        kind = event.get("event")
        if kind == "progress":
            state.done, state.total = int(event["done"]), int(event["total"])
        elif kind == "done":
            state.rows, state.seconds = int(event["rows"]), float(event["seconds"])
        elif kind == "error":
            state.error = str(event["message"])


def _read_tail(stream, tail: collections.deque[str]) -> None:  # noqa: ANN001
    for line in stream:
        tail.append(line.rstrip())


def _terminate(proc: subprocess.Popen[str]) -> None:
    """SIGTERM to the child's process group (Python and its JVM), SIGKILL after a grace period."""

    def kill() -> None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=_KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    threading.Thread(target=kill, name="runyard-batch-kill", daemon=True).start()


__all__ = ["HEARTBEAT_S", "STALE_S", "BatchRunner"]
