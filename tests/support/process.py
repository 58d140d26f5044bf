"""A real background process for tests: its own session (so its children stop with it), output
in a log file, polled until ready, and stopped with a signal then SIGKILL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers_ok(url: str) -> bool:
    """Whether ``url`` answers 200 now (readiness probes poll this)."""
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


class BackgroundProcess:
    """Subclasses set ``name`` and ``log_path``, then call :meth:`spawn` from their ``start``."""

    name = "process"
    log_path: Path
    stop_signal = signal.SIGTERM
    stop_grace_s = 15.0

    proc: subprocess.Popen[bytes] | None = None

    def spawn(
        self,
        cmd: Sequence[str],
        *,
        ready: Callable[[], bool],
        timeout: float,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        poll_s: float = 0.05,
    ) -> None:
        """Start ``cmd`` and wait until ``ready()`` says so; a process that exits or never
        gets ready fails the test with the end of its log."""
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            list(cmd),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log(5000)}")
            if ready():
                return
            time.sleep(poll_s)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready in {timeout:.0f} s:\n{self.log(5000)}")

    def log(self, tail: int | None = None) -> str:
        """Everything the process printed (or its last ``tail`` characters)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-tail:] if tail else text

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing gets a chance to clean up."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, self.stop_signal)
            try:
                self.proc.wait(self.stop_grace_s)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "_log", None):
            self._log.close()


__all__ = ["BackgroundProcess", "answers_ok", "free_port"]
