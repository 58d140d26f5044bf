"""How to start, health-check and stop each server under test."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BENCH_DIR.parent
PEER_VENVS = BENCH_DIR / ".venvs"
SERVER_NAMES = ("runyard", "mlflow", "fml")
HOST = "127.0.0.1"


@dataclass(frozen=True)
class ServerSpec:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    version: str = "?"


@dataclass(frozen=True)
class Running:
    spec: ServerSpec
    base_url: str
    startup_seconds: float
    workdir: Path


class ServerUnavailable(Exception):
    """The server's command is missing or it did not come up."""


def default_binary(name: str) -> Path:
    if name == "runyard":
        return REPO_DIR / ".venv" / "bin" / "runyard"
    return PEER_VENVS / name / "bin" / name


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _dist_version(binary: Path, dist: str) -> str:
    python = binary.parent / "python"
    code = f"import importlib.metadata as m; print(m.version({dist!r}))"
    try:
        out = subprocess.run(
            [str(python), "-c", code], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return "?"
    return out.stdout.strip() or "?"


def build_spec(
    name: str, binary: Path, port: int, workdir: Path, db_uri: str, mlflow_workers: int | None
) -> ServerSpec:
    artifacts = str(workdir / "artifacts")
    if name == "runyard":
        argv = [
            str(binary),
            "server",
            "--host",
            HOST,
            "--port",
            str(port),
            "--backend-store-uri",
            db_uri,
            "--artifacts-destination",
            artifacts,
        ]
        return ServerSpec(name, argv, version=_dist_version(binary, "runyard"))
    if name == "mlflow":
        argv = [
            str(binary),
            "server",
            "--host",
            HOST,
            "--port",
            str(port),
            "--backend-store-uri",
            db_uri,
            "--artifacts-destination",
            artifacts,
            # The security middleware checks the Host header; allow loopback explicitly.
            "--allowed-hosts",
            f"{HOST}:{port},{HOST},localhost:{port},localhost",
        ]
        if mlflow_workers:
            argv += ["--workers", str(mlflow_workers)]
        env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        return ServerSpec(name, argv, env, version=_dist_version(binary, "mlflow"))
    if name == "fml":
        argv = [
            str(binary),
            "server",
            "--listen-address",
            f"{HOST}:{port}",
            "--database-uri",
            db_uri,
            "--default-artifact-root",
            artifacts,
        ]
        return ServerSpec(name, argv, version=_dist_version(binary, "fasttrackml"))
    raise ValueError(f"unknown server {name!r}")


def _stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Terminate the server's whole process group (it runs in its own session)."""
    if proc.poll() is not None and not _group_alive(proc.pid):
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if proc.poll() is not None and not _group_alive(proc.pid):
                return
            time.sleep(0.1)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_healthy(proc: subprocess.Popen[bytes], base_url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerUnavailable(f"exited with code {proc.returncode} before /health")
        try:
            if requests.get(base_url + "/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise ServerUnavailable(f"/health not 200 within {timeout:.0f}s")


def _log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextmanager
def workdir_for(name: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def running(spec: ServerSpec, port: int, workdir: Path, timeout: float) -> Iterator[Running]:
    """Start ``spec``, wait for ``GET /health`` == 200, always stop it afterwards."""
    log_path = workdir / "server.log"
    env = dict(os.environ, **spec.env)
    base_url = f"http://{HOST}:{port}"
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            spec.argv,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        try:
            _wait_healthy(proc, base_url, timeout)
        except ServerUnavailable as exc:
            raise ServerUnavailable(f"{exc}\n--- server log tail ---\n{_log_tail(log_path)}") from exc
        yield Running(spec, base_url, time.perf_counter() - started, workdir)
    finally:
        _stop(proc)
