"""What a handler receives: the route it serves and the per-request context."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.requests import Request

from runyard.entities import Principal, Workspace

if TYPE_CHECKING:
    from runyard.services import Services


class Access(enum.Enum):
    """What a route needs from the caller, declared next to the route itself."""

    PUBLIC = "public"  # health, server-info: no credential needed
    AUTHENTICATED = "authenticated"  # any signed-in caller, whatever the workspace
    READ = "read"  # reader role in the workspace
    WRITE = "write"  # contributor role in the workspace
    MANAGE = "manage"  # owner of the workspace
    ADMIN = "admin"  # global admin


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # relative to /api (and /ajax-api), e.g. "/2.0/mlflow/runs/create"
    handler: Callable[..., Any]
    request: type[msgspec.Struct] | None = None
    access: Access = Access.READ
    # raw handlers are ``async def handler(call) -> Response`` and read the request
    # themselves (streaming artifacts); others get a decoded message in a worker thread.
    raw: bool = False
    # Some MLflow GET endpoints are also called with a JSON body; decode the body then.
    body_on_get: bool = False
    summary: str = ""
    # The path parameter naming the workspace the route acts on, when that is not the
    # /w/<workspace> prefix or header (e.g. GET /3.0/mlflow/workspaces/{name}).
    workspace_param: str | None = None


@dataclass(frozen=True)
class Call:
    services: Services
    workspace: Workspace
    request: Request
    user: str | None = None
    # Who is calling (None on public routes with authentication on).
    principal: Principal | None = None

    @property
    def workspace_id(self) -> int:
        return self.workspace.id

    def path_param(self, name: str) -> str:
        return self.request.path_params[name]


__all__ = ["Access", "Call", "Route"]
