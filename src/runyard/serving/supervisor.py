"""Supervision of one deployment's scoring process: start, readiness, liveness, backoff restarts, log.

One background thread per deployment. Everything it learns is kept as a ``DeploymentStatus``
that ``LocalProcessRunner.status()`` hands out; its events go to the same log as the process.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runyard.serving.runner import DeploymentSpec, DeploymentStatus

# A process that stayed up this long earns a fresh backoff (1 s) after its next crash.
STABLE_AFTER_S = 30.0
LIVENESS_EVERY_S = 5.0
LIVENESS_MISSES = 3
LOAD_FAILED_MARKER = "runyard-serving: model failed to load: "


class Supervisor:
    def __init__(
        self,
        spec: DeploymentSpec,
        directory: Path,
        *,
        host: str,
        max_backoff_s: float,
        ready_timeout_s: float,
        log_max_bytes: int,
        envs_dir: Path,
    ) -> None:
        self.spec = spec
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.dir / "log"
        self.pid_path = self.dir / "pid"
        self.host = host
        self.url_host = "127.0.0.1" if host in {"0.0.0.0", ""} else host  # noqa: S104
        self.max_backoff_s = max_backoff_s
        self.ready_timeout_s = ready_timeout_s
        self.log_max_bytes = log_max_bytes
        self.envs_dir = envs_dir
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"deployment-{spec.key}", daemon=True)
        self._proc: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._state = "starting"
        self._message: str | None = None
        self._url: str | None = None
        self._restarts = 0

    # -- the runner's side -------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def status(self) -> DeploymentStatus:
        from runyard.serving.runner import DeploymentStatus

        with self._lock:
            proc = self._proc
            return DeploymentStatus(
                state=self._state,
                message=self._message,
                url=self._url,
                restarts=self._restarts,
                pid=proc.pid if proc is not None and proc.poll() is None else None,
            )

    def stop(self) -> None:
        self._stop.set()
        self._kill()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=30)
        with self._lock:
            self._state, self._message, self._url = "stopped", None, None
        self.event("stopped")

    # -- the supervision thread --------------------------------------------------------------

    def _set(self, state: str, message: str | None) -> None:
        with self._lock:
            self._state, self._message = state, message

    def _run(self) -> None:
        backoff = 1.0
        first = True
        while not self._stop.is_set():
            if not first:
                with self._lock:
                    self._restarts += 1
            first = False
            outcome, message, ran_s = self._attempt()
            if self._stop.is_set():
                break
            self._set("failed" if outcome == "failed" else "restarting", message)
            if ran_s >= STABLE_AFTER_S:
                backoff = 1.0
            self.event(f"{outcome}: {message}; restarting in {backoff:g} s")
            if self._stop.wait(backoff):
                break
            backoff = min(backoff * 2, self.max_backoff_s)

    def _python(self) -> str:
        if self.spec.env_manager == "virtualenv":
            from runyard.serving.environments import virtualenv_python

            return str(virtualenv_python(self.spec.model_path, self.envs_dir, self.event))
        from runyard.serving.runner import local_python

        return local_python()

    def _attempt(self) -> tuple[str, str, float]:
        """One process lifetime → (outcome "failed"|"crashed"|"stopped", why, seconds it was ready)."""
        from runyard.serving.runner import bind_loopback, process_start_time, scoring_command, spawn

        try:
            python = self._python()
        except Exception as exc:  # noqa: BLE001 - an environment that cannot be built is a failure
            return "failed", f"cannot build the environment: {exc}", 0.0
        if not (self.spec.model_path / "MLmodel").is_file():
            return "failed", f"no MLmodel file in {self.spec.model_path}", 0.0
        sock = bind_loopback(self.host, self._port)
        self._port = sock.getsockname()[1]
        offset = self._log_size()
        try:
            proc = spawn(
                scoring_command(python, self.spec.model_path, sock.fileno()),
                self.spec.environment,
                self.log_path,
                sock.fileno(),
            )
        finally:
            sock.close()
        self.pid_path.write_text(json.dumps({"pid": proc.pid, "start_time": process_start_time(proc.pid)}))
        with self._lock:
            self._proc = proc
            self._url = f"http://{self.url_host}:{self._port}"
        self.event(f"started pid {proc.pid} on port {self._port} ({self.spec.model_path})")
        try:
            if self._stop.is_set():
                return "stopped", "", 0.0
            not_ready = self._wait_ready(proc, offset)
            if not_ready is not None:
                return "failed", not_ready, 0.0
            ready_at = time.monotonic()
            self._set("ready", None)
            self.event("ready")
            why = self._watch(proc)
            return "crashed", why, time.monotonic() - ready_at
        finally:
            if self._stop.is_set():
                self._kill()
            with self._lock:
                self._proc = None
            self.pid_path.unlink(missing_ok=True)

    def _wait_ready(self, proc: subprocess.Popen[bytes], offset: int) -> str | None:
        """None once /ping says 200; else why the process will never be ready."""
        deadline = time.monotonic() + self.ready_timeout_s
        while not self._stop.is_set():
            code = proc.poll()
            if code is not None:
                return self._failure_reason(offset, code)
            if self._ping(timeout=2.0):
                return None
            if time.monotonic() > deadline:
                self._kill()
                return f"not ready after {self.ready_timeout_s:g} s"
            self._stop.wait(0.05)
        return "stopped"

    def _watch(self, proc: subprocess.Popen[bytes]) -> str:
        """Block while the ready process lives; return why it went away."""
        misses = 0
        next_check = time.monotonic() + LIVENESS_EVERY_S
        while True:
            try:
                code = proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                code = None
            if code is not None:
                return f"process exited with {_describe_exit(code)}"
            if self._stop.is_set():
                return "stopped"
            self._rotate_log()
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + LIVENESS_EVERY_S
                misses = 0 if self._ping(timeout=LIVENESS_EVERY_S) else misses + 1
                if misses >= LIVENESS_MISSES:
                    self._kill()
                    return f"killed: /ping did not answer {LIVENESS_MISSES} times in a row"

    def _ping(self, timeout: float) -> bool:
        if self._port is None:
            return False
        conn = http.client.HTTPConnection(self.url_host, self._port, timeout=timeout)
        try:
            conn.request("GET", "/ping")
            return conn.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    def _kill(self) -> None:
        from runyard.serving.runner import terminate_group

        with self._lock:
            proc = self._proc
            # Only a ready process has requests to drain; one still loading is killed at once.
            grace_s = 5.0 if self._state == "ready" else 0.0
        if proc is not None and proc.poll() is None:
            terminate_group(proc.pid, grace_s, proc)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)

    # -- the log -----------------------------------------------------------------------------

    def event(self, message: str) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(f"[runyard {stamp}] {message}\n")

    def _log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def _rotate_log(self) -> None:
        """Copy-and-truncate: the process keeps its O_APPEND handle and goes on writing at 0."""
        if self._log_size() <= self.log_max_bytes:
            return
        shutil.copyfile(self.log_path, self.dir / "log.1")
        with open(self.log_path, "r+b") as f:
            f.truncate(0)

    def _failure_reason(self, offset: int, code: int) -> str:
        """The load error's last line if the process printed one, else its last line of output."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset if offset <= self._log_size() else 0)
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            lines = []
        lines = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("[runyard ")]
        for line in reversed(lines):
            if line.startswith(LOAD_FAILED_MARKER):
                return line[len(LOAD_FAILED_MARKER) :]
        tail = f": {lines[-1]}" if lines else ""
        return f"process exited with {_describe_exit(code)} before it was ready{tail}"


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


def read_log_tail(directory: Path, tail: int) -> list[str]:
    """The last ``tail`` lines over ``log.1`` then ``log``."""
    if tail <= 0:
        return []
    lines: deque[str] = deque(maxlen=tail)
    for name in ("log.1", "log"):
        try:
            with open(directory / name, encoding="utf-8", errors="replace") as f:
                lines.extend(line.rstrip("\n") for line in f)
        except OSError:
            continue
    return list(lines)
