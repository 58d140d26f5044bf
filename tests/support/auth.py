"""An auth-on Runyard server for tests, and a tiny client for Runyard's access API."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from tests.support.pg import backend_url
from tests.support.server import RunyardServer

_TOKEN = re.compile(r"ryd_pat_[0-9a-f]{16}_[A-Za-z0-9_-]+")


R = "/api/2.0/runyard"


def printed_tokens(log: str) -> list[str]:
    return _TOKEN.findall(log)


# A fresh SQLite or PostgreSQL database of its own (skips when PostgreSQL is absent).
fresh_backend = backend_url


class Api:
    """Calls /api/... (or /w/<workspace>/api/...) with one bearer token."""

    def __init__(self, base_url: str, token: str | None = None, workspace: str | None = None) -> None:
        self.base_url, self.token, self.workspace = base_url, token, workspace

    def url(self, path: str) -> str:
        prefix = f"/w/{self.workspace}" if self.workspace else ""
        return f"{self.base_url}{prefix}/api{path}"

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = dict(kw.pop("headers", {}))
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return requests.request(method, self.url(path), headers=headers, timeout=30, **kw)

    def ok(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        r = self.request(method, path, **kw)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else {}

    def in_workspace(self, workspace: str | None) -> Api:
        return Api(self.base_url, self.token, workspace)

    def as_(self, token: str | None) -> Api:
        return Api(self.base_url, token, self.workspace)

    # -- the access API, as an admin or owner would use it ----------------------------------
    def add_user(self, name: str, *, admin: bool = False) -> str:
        """Create a user and issue their first personal access token; returns the token."""
        self.ok("POST", "/2.0/runyard/users", json={"name": name, "admin": admin})
        return self.ok("POST", "/2.0/runyard/tokens", json={"name": "first", "principal": name})["secret"]

    def create_workspace(self, name: str) -> None:
        self.ok("POST", "/3.0/mlflow/workspaces", json={"name": name})

    def grant(self, workspace: str, principal: str, role: str) -> None:
        self.in_workspace(workspace).ok(
            "POST", "/2.0/runyard/members", json={"principal": principal, "role": role}
        )

    def service_principal(self, workspace: str, name: str, role: str) -> tuple[str, str]:
        body = self.in_workspace(workspace).ok(
            "POST", "/2.0/runyard/service-principals", json={"name": name, "role": role}
        )
        return body["client_id"], body["client_secret"]

    def client_credentials(self, client_id: str, client_secret: str) -> requests.Response:
        return requests.post(
            f"{self.base_url}/api/2.0/runyard/oauth/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
            timeout=30,
        )


class AuthServer(RunyardServer):
    """A ``runyard server --auth on`` process; ``admin`` holds the bootstrap admin's API."""

    def __init__(self, backend_url: str, artifacts: Path, *extra: str) -> None:
        super().__init__(backend_url, artifacts, "--auth", "on", *extra)
        self.admin: Api

    def start(self, timeout: float = 30.0) -> None:
        super().start(timeout)
        # The server prints the first admin's token once, at first start; read it as a person would.
        deadline = time.monotonic() + 10
        while not (found := printed_tokens(self.log())) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert found, f"no bootstrap token printed:\n{self.log()}"
        self.admin = Api(self.url, found[-1])

    @property
    def admin_token(self) -> str:
        return self.admin.token  # type: ignore[return-value]

    def api(self, token: str | None = None, workspace: str | None = None) -> Api:
        return Api(self.url, token, workspace)

    # -- one-liners as the admin (or as ``token``) ------------------------------------------
    def request(
        self, method: str, path: str, token: str | None = None, workspace: str | None = None, **kw: Any
    ) -> requests.Response:
        """One request to ``/api<path>`` (under ``/w/<workspace>`` if given)."""
        return Api(self.url, token or self.admin_token, workspace).request(method, path, **kw)

    def ok(
        self, method: str, path: str, token: str | None = None, workspace: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        return Api(self.url, token or self.admin_token, workspace).ok(method, path, **kw)

    def workspace(self, name: str) -> str:
        self.admin.create_workspace(name)
        return name

    def service_principal(self, workspace: str, name: str, role: str) -> tuple[str, str]:
        return self.admin.service_principal(workspace, name, role)


@contextmanager
def auth_server(kind: str, tmp: Path, *extra: str) -> Iterator[AuthServer]:
    """``runyard server --auth on`` on a fresh SQLite or PostgreSQL database, stopped afterwards."""
    with backend_url(kind, tmp) as url:
        artifacts = tmp / "artifacts"
        artifacts.mkdir(exist_ok=True)
        srv = AuthServer(url, artifacts, *extra)
        srv.start()
        try:
            yield srv
        finally:
            srv.stop()
