"""A real Azure Blob server for tests: Azurite (npm, installed by ``make install-test``) on a free port.

Data lives in a temp folder. Azurite knows one well-known development account; tests reach it
with its connection string, exactly as they would a real storage account.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from tests.support.process import BackgroundProcess, free_port

ACCOUNT = "devstoreaccount1"
# Azurite's published development key (the same in every installation; not a secret).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
PACKAGE_DIR = Path(__file__).parent / "azurite"


def azurite_binary() -> str | None:
    local = PACKAGE_DIR / "node_modules" / ".bin" / "azurite-blob"
    return str(local) if local.exists() else shutil.which("azurite-blob")


class Azurite(BackgroundProcess):
    name = "Azurite"
    stop_grace_s = 3.0  # its data is throwaway: no need to wait for a clean exit

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
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
        self.spawn(cmd, ready=self._listening, timeout=timeout, cwd=self.workdir, poll_s=0.1)

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def create_container(self, name: str) -> None:
        from azure.storage.blob import BlobServiceClient

        BlobServiceClient.from_connection_string(self.connection_string).create_container(name)
