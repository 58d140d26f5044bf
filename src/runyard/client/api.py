"""A small client for Runyard's own API (``/api/2.0/runyard/...``), used by the CLI.

Every method returns the decoded JSON body. Failures raise ``ApiError`` (the server answered
with an error) or ``ServerUnreachable`` (it did not answer), each with a message for people.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from runyard.client.credentials import server_base

_R = "/api/2.0/runyard"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class ServerUnreachable(Exception):
    def __init__(self, server: str, reason: str) -> None:
        self.server = server
        super().__init__(
            f"Cannot reach the Runyard server at {server} ({reason}). Is it running? "
            "Choose another with --server or RUNYARD_SERVER."
        )


class ApiError(Exception):
    """The server refused: ``status``, MLflow's ``error_code`` and the server's message."""

    def __init__(self, status: int, error_code: str, message: str, server: str) -> None:
        self.status = status
        self.error_code = error_code
        self.message = message
        self.server = server
        super().__init__(self.describe())

    def describe(self) -> str:
        if self.status == 401:
            return (
                f"Not signed in to {self.server}: {self.message} "
                f"Run `runyard login --server {self.server}`, or pass --token (RUNYARD_TOKEN)."
            )
        if self.status == 403:
            return f"Permission denied: {self.message}"
        return self.message or f"HTTP {self.status} ({self.error_code})"


class RunyardAPI:
    def __init__(self, server: str, token: str | None = None, *, timeout: float = 30.0) -> None:
        self.server = server_base(server)
        self.token = token
        self.timeout = timeout
        self._session = requests.Session()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
        workspace: str | None = None,
        auth: bool = True,
    ) -> dict[str, Any]:
        url = self.server + (f"/w/{quote(workspace, safe='')}" if workspace else "") + path
        headers = {"Authorization": f"Bearer {self.token}"} if auth and self.token else {}
        try:
            resp = self._session.request(
                method, url, json=json, params=params, data=data, headers=headers, timeout=self.timeout
            )
        except requests.ConnectionError as exc:
            raise ServerUnreachable(self.server, _reason(exc)) from None
        except requests.Timeout:
            raise ServerUnreachable(self.server, f"no answer within {self.timeout:g} s") from None
        try:
            body = resp.json() if resp.content else {}
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ApiError(
                resp.status_code,
                "UNEXPECTED_RESPONSE",
                f"Unexpected answer from {url} (HTTP {resp.status_code}): {resp.text[:200]!r}. "
                "Is this a Runyard server?",
                self.server,
            )
        if resp.status_code >= 400:
            raise ApiError(
                resp.status_code,
                str(body.get("error_code", "")),
                str(body.get("message", resp.reason)),
                self.server,
            )
        return body

    # -- who am I, workspaces, users -----------------------------------------------------

    def me(self) -> dict[str, Any]:
        return self.request("GET", f"{_R}/me")

    def list_workspaces(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/3.0/mlflow/workspaces").get("workspaces", [])

    def create_workspace(self, name: str, description: str | None = None) -> dict[str, Any]:
        body = {"name": name, **({"description": description} if description else {})}
        return self.request("POST", "/api/3.0/mlflow/workspaces", json=body).get("workspace", {})

    def add_user(self, name: str, admin: bool = False) -> dict[str, Any]:
        return self.request("POST", f"{_R}/users", json={"name": name, "admin": admin})

    def list_users(self) -> list[dict[str, Any]]:
        return self.request("GET", f"{_R}/users").get("users", [])

    def set_admin(self, name: str, admin: bool) -> dict[str, Any]:
        return self.request("PATCH", f"{_R}/users", json={"name": name, "admin": admin}).get("user", {})

    def delete_user(self, name: str) -> dict[str, Any]:
        return self.request("DELETE", f"{_R}/users", json={"name": name})

    # -- roles in a workspace ------------------------------------------------------------

    def grant(self, workspace: str, principal: str, role: str) -> dict[str, Any]:
        body = {"principal": principal, "role": role}
        return self.request("POST", f"{_R}/members", json=body, workspace=workspace)

    def revoke(self, workspace: str, principal: str) -> dict[str, Any]:
        return self.request("DELETE", f"{_R}/members", json={"principal": principal}, workspace=workspace)

    def list_members(self, workspace: str) -> list[dict[str, Any]]:
        return self.request("GET", f"{_R}/members", workspace=workspace).get("members", [])

    # -- service principals ----------------------------------------------------------------

    def create_service_principal(self, workspace: str, name: str, role: str) -> dict[str, Any]:
        body = {"name": name, "role": role}
        return self.request("POST", f"{_R}/service-principals", json=body, workspace=workspace)

    def list_service_principals(self, workspace: str) -> list[dict[str, Any]]:
        body = self.request("GET", f"{_R}/service-principals", workspace=workspace)
        return body.get("service_principals", [])

    def delete_service_principal(self, workspace: str, name: str) -> dict[str, Any]:
        return self.request("DELETE", f"{_R}/service-principals", json={"name": name}, workspace=workspace)

    # -- personal access tokens ------------------------------------------------------------

    def create_token(
        self, name: str, expires_in_days: int | None = None, principal: str | None = None
    ) -> dict[str, Any]:
        """A personal access token for yourself, or (admins) for ``principal``."""
        body: dict[str, Any] = {"name": name}
        if expires_in_days is not None:
            body["expires_in_days"] = expires_in_days
        if principal is not None:
            body["principal"] = principal
        return self.request("POST", f"{_R}/tokens", json=body)

    def list_tokens(self, all_: bool = False) -> list[dict[str, Any]]:
        params = {"all": "true"} if all_ else None
        return self.request("GET", f"{_R}/tokens", params=params).get("tokens", [])

    def revoke_token(self, token_id: str) -> dict[str, Any]:
        return self.request("POST", f"{_R}/tokens/revoke", json={"id": token_id})

    # -- audit -----------------------------------------------------------------------------

    def audit(
        self, workspace: str | None, max_results: int | None = None, page_token: str | None = None
    ) -> dict[str, Any]:
        params = {
            k: v for k, v in {"max_results": max_results, "page_token": page_token}.items() if v is not None
        }
        return self.request("GET", f"{_R}/audit", params=params, workspace=workspace)

    # -- device-code sign-in (public endpoints) --------------------------------------------

    def device_code(self) -> dict[str, Any]:
        return self.request("POST", f"{_R}/oauth/device/code", json={}, auth=False)

    def device_token(self, device_code: str) -> dict[str, Any]:
        form = {"grant_type": DEVICE_GRANT, "device_code": device_code}
        return self.request("POST", f"{_R}/oauth/token", data=form, auth=False)

    def approve_device(self, user_code: str) -> dict[str, Any]:
        return self.request("POST", f"{_R}/oauth/device/approve", json={"user_code": user_code})


def _reason(exc: requests.ConnectionError) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "nodename nor servname"):
        if marker in text:
            return marker.lower()
    return text[:200]


__all__ = ["DEVICE_GRANT", "ApiError", "RunyardAPI", "ServerUnreachable"]
