"""A real Azure Blob server for tests: Azurite (npm, installed by ``make install-test``) on a free port.

Data lives in a temp folder. Azurite knows one well-known development account; tests reach it
with its connection string, exactly as they would a real storage account.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.support.server import free_port

ACCOUNT = "devstoreaccount1"
# Azurite's published development key (the same in every installation; not a secret).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
PACKAGE_DIR = Path(__file__).parent / "azurite"


def azurite_binary() -> str | None:
    local = PACKAGE_DIR / "node_modules" / ".bin" / "azurite-blob"
    return str(local) if local.exists() else shutil.which("azurite-blob")


class Azurite:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "azurite.log"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.port}/{ACCOUNT};"
        )

    def env(self) -> dict[str, str]:
        """What a client process needs to reach this store (``wasbs://``/``abfss://`` URIs)."""
        return {"RUNYARD_AZURE_STORAGE_CONNECTION_STRING": self.connection_string}

    def start(self, timeout: float = 60.0) -> None:
        binary = azurite_binary()
        if binary is None:
            raise RuntimeError("Azurite is not installed: run `make install-test` (npm azurite).")
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        cmd = [
            binary,
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(self.port),
            "--location",
            str(data),
            "--loose",
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--silent",
        ]
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, stdout=self._log, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Azurite exited early:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Azurite did not start:\n{self.log()}")

    def create_container(self, name: str) -> None:
        from azure.storage.blob import BlobServiceClient

        BlobServiceClient.from_connection_string(self.connection_string).create_container(name)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(3)  # its data is throwaway: no need to wait for a clean exit
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if getattr(self, "_log", None):
            self._log.close()
