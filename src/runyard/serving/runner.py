"""Deployment runners: the small protocol, and the runner that supervises local scoring processes.

``LocalProcessRunner`` starts one ``runyard.serving.scoring_server`` process per deployment, polls
its readiness, restarts it with exponential backoff when it dies, and keeps its log. Standard
library only, so that the control plane can import it without the router's dependencies.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from runyard.serving import supervisor
from runyard.serving.supervisor import Supervisor

ENV_MANAGERS = ("local", "virtualenv")


@dataclass(frozen=True)
class DeploymentSpec:
    """What to run. ``key`` is unique and filesystem-safe, e.g. ``3.churn.blue``."""

    key: str
    model_path: Path
    # "local" = Runyard's own Python; "virtualenv" = a venv built from the model's
    # requirements.txt / python_env.yaml, cached per requirements hash.
    env_manager: str = "local"
    environment: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.key or self.key in {".", ".."} or any(c in self.key for c in "/\\\0"):
            raise ValueError(f"deployment key {self.key!r} must be a non-empty file name")
        if self.key.startswith("_"):  # state_dir/_envs holds the virtualenvs
            raise ValueError(f"deployment key {self.key!r} must not start with '_'")
        if self.env_manager not in ENV_MANAGERS:
            raise ValueError(f"env_manager {self.env_manager!r} is not one of {', '.join(ENV_MANAGERS)}")


@dataclass(frozen=True)
class DeploymentStatus:
    # "starting" | "ready" | "failed" (model cannot load; message says why)
    # | "restarting" (crashed; backoff pending or coming back) | "stopped"
    state: str
    message: str | None
    url: str | None  # "http://127.0.0.1:<port>" of the scoring process once started
    restarts: int
    pid: int | None


STOPPED = DeploymentStatus(state="stopped", message=None, url=None, restarts=0, pid=None)


@runtime_checkable
class Runner(Protocol):
    """What the control plane needs from any runner (local processes, Kubernetes, Ray Serve…)."""

    def deploy(self, spec: DeploymentSpec) -> None:
        """Start ``spec`` (non-blocking). Same spec again → no-op; a changed spec replaces it."""

    def remove(self, key: str) -> None:
        """Stop and forget a deployment; its logs stay readable."""

    def status(self, key: str) -> DeploymentStatus:
        """Current state; an unknown key is "stopped"."""

    def logs(self, key: str, tail: int = 200) -> list[str]:
        """The last ``tail`` lines of the deployment's log (scoring process and supervision)."""

    def close(self) -> None:
        """Stop every deployment (server shutdown)."""


class LocalProcessRunner(Runner):
    """Scoring processes on this machine, one per deployment, under ``state_dir/<key>/``.

    Not persistent by design: on start it kills scoring processes a previous runner left behind
    (pid files), and the control plane calls ``deploy()`` again for every stored deployment.
    One runner per ``state_dir``.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        host: str = "127.0.0.1",
        max_backoff_s: float = 30.0,
        ready_timeout_s: float = 300.0,
        log_max_bytes: int = 5 * 1024 * 1024,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.max_backoff_s = max_backoff_s
        self.ready_timeout_s = ready_timeout_s
        self.log_max_bytes = log_max_bytes
        self._lock = threading.Lock()
        self._deployments: dict[str, Supervisor] = {}
        self._closed = False
        self.orphans_killed = kill_orphans(self.state_dir)

    def deploy(self, spec: DeploymentSpec) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the runner is closed")
            current = self._deployments.get(spec.key)
            if current is not None and current.spec == spec and current.alive():
                return
            self._deployments.pop(spec.key, None)
        if current is not None:
            current.stop()
        sup = Supervisor(
            spec,
            self.state_dir / spec.key,
            host=self.host,
            max_backoff_s=self.max_backoff_s,
            ready_timeout_s=self.ready_timeout_s,
            log_max_bytes=self.log_max_bytes,
            envs_dir=self.state_dir / "_envs",
        )
        with self._lock:
            # A concurrent deploy of the same key may have won; the last one in replaces it.
            previous = self._deployments.pop(spec.key, None)
            self._deployments[spec.key] = sup
        if previous is not None:
            previous.stop()
        sup.start()

    def remove(self, key: str) -> None:
        with self._lock:
            sup = self._deployments.pop(key, None)
        if sup is not None:
            sup.stop()

    def status(self, key: str) -> DeploymentStatus:
        with self._lock:
            sup = self._deployments.get(key)
        if sup is None:
            return STOPPED
        return sup.status()

    def logs(self, key: str, tail: int = 200) -> list[str]:
        if not key or any(c in key for c in "/\\\0") or key in {".", ".."}:
            return []
        return supervisor.read_log_tail(self.state_dir / key, tail)

    def keys(self) -> list[str]:
        """Keys of the deployments this runner supervises."""
        with self._lock:
            return sorted(self._deployments)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sups = list(self._deployments.values())
            self._deployments.clear()
        threads = [threading.Thread(target=s.stop) for s in sups]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def __enter__(self) -> LocalProcessRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def kill_orphans(state_dir: Path) -> int:
    """Kill scoring processes named in ``state_dir/*/pid`` that are still alive; return how many."""
    killed = 0
    for pid_file in state_dir.glob("*/pid"):
        try:
            info = json.loads(pid_file.read_text())
            pid = int(info["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            pid_file.unlink(missing_ok=True)
            continue
        if _is_our_scoring_process(pid, info.get("start_time")):
            terminate_group(pid)
            killed += 1
        pid_file.unlink(missing_ok=True)
    return killed


def _is_our_scoring_process(pid: int, start_time: str | None) -> bool:
    """True only for a live scoring process: a recycled pid must never be killed."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    if b"runyard.serving.scoring_server" not in cmdline:
        return False
    return start_time is None or process_start_time(pid) == start_time


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (field 22 of /proc/<pid>/stat), or None off Linux."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; the fields after its closing paren do not.
    return stat.rsplit(")", 1)[1].split()[19]


def terminate_group(pid: int, grace_s: float = 5.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM the process group led by ``pid``, then SIGKILL what is left after ``grace_s``.

    With ``proc`` (our own child) we wait on it: an exited child stays a zombie, and so a
    member of its group, until it is reaped.
    """
    try:
        os.killpg(pid, signal.SIGTERM if grace_s > 0 else signal.SIGKILL)
    except ProcessLookupError:
        return
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s)
    else:
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            if _is_zombie(pid):  # exited; its parent has yet to reap it
                break
            time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def bind_loopback(host: str, preferred_port: int | None) -> socket.socket:
    """A listening socket for a scoring process: its previous port if free (stable URL), else any."""
    for port in ([preferred_port] if preferred_port else []) + [0]:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(2048)
        except OSError:
            sock.close()
            if port == 0:
                raise
            continue
        sock.set_inheritable(True)
        return sock
    raise OSError("no port")  # unreachable: port 0 either binds or raises


def scoring_command(python: str, model_path: Path, fd: int) -> list[str]:
    return [
        python,
        "-m",
        "runyard.serving.scoring_server",
        "--model-path",
        str(model_path),
        "--fd",
        str(fd),
        "--parent-pid",
        str(os.getpid()),
    ]


def spawn(cmd: list[str], env: Mapping[str, str], log_path: Path, fd: int) -> subprocess.Popen[bytes]:
    """Start a scoring process in its own session and folder, stdout and stderr appended to its log."""
    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            pass_fds=(fd,),
            start_new_session=True,
            close_fds=True,
            cwd=log_path.parent,  # not the server's working directory: nothing there may shadow a module
        )


def local_python() -> str:
    return sys.executable
