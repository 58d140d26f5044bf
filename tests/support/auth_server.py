"""An auth-on Runyard server for client tests, its first admin's token, and small API helpers.

The first admin's token is printed once in the server log at first start; tests read it there,
as a person would.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.support.pg import backend_url
from tests.support.server import RunyardServer

PAT = re.compile(r"ryd_pat_[0-9a-f]{16}_[A-Za-z0-9_\-]+")
R = "/api/2.0/runyard"


class AuthServer(RunyardServer):
    admin_token: str

    def api(
        self, method: str, path: str, token: str | None = None, workspace: str | None = None, **kwargs: object
    ) -> requests.Response:
        """One request to ``/api<path>`` (under ``/w/<workspace>`` if given) as ``token`` (default admin)."""
        prefix = f"/w/{workspace}" if workspace else ""
        headers = {"Authorization": f"Bearer {token or self.admin_token}"}
        return requests.request(
            method, f"{self.url}{prefix}/api{path}", headers=headers, timeout=30, **kwargs
        )

    def ok(self, method: str, path: str, **kwargs: object) -> dict:
        resp = self.api(method, path, **kwargs)
        assert resp.status_code < 300, f"{method} {path} -> {resp.status_code} {resp.text}"
        return resp.json() if resp.content else {}

    def workspace(self, name: str) -> str:
        self.ok("POST", "/3.0/mlflow/workspaces", json={"name": name})
        return name

    def service_principal(self, workspace: str, name: str, role: str) -> tuple[str, str]:
        body = {"name": name, "role": role}
        out = self.ok("POST", "/2.0/runyard/service-principals", workspace=workspace, json=body)
        return out["client_id"], out["client_secret"]


@contextmanager
def auth_server(kind: str, tmp: Path, *extra: str) -> Iterator[AuthServer]:
    """Start ``runyard server --auth on`` on a fresh database and read the admin token it prints."""
    with backend_url(kind, tmp) as url:
        artifacts = tmp / "artifacts"
        artifacts.mkdir(exist_ok=True)
        srv = AuthServer(url, artifacts, "--auth", "on", *extra)
        srv.start()
        try:
            deadline = time.monotonic() + 10
            while not (found := PAT.search(srv.log())) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert found, f"no admin token in the server log:\n{srv.log()}"
            srv.admin_token = found.group(0)
            yield srv
        finally:
            srv.stop()


__all__ = ["PAT", "AuthServer", "R", "auth_server", "backend_url"]
