"""Run a real ``runyard server`` process for tests, on a free loopback port."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.support.process import BackgroundProcess, answers_ok, free_port


class RunyardServer(BackgroundProcess):
    name = "runyard server"

    def __init__(
        self, backend_url: str, artifacts: Path, *extra: str, env: dict[str, str] | None = None
    ) -> None:
        self.backend_url = backend_url
        self.artifacts = artifacts
        self.extra = list(extra)
        self.env = env or {}
        self.port = free_port()
        self.log_path = artifacts.parent / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_")}
        env.update(self.env)
        cmd = [
            sys.executable,
            "-m",
            "runyard",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--backend-store-uri",
            self.backend_url,
            "--artifacts-destination",
            str(self.artifacts),
            *self.extra,
        ]
        self.spawn(cmd, ready=lambda: answers_ok(self.url + "/health"), timeout=timeout, env=env)
