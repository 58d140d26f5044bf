"""The access gate: builds each request's Call after checking the caller against the route.

Order: authenticate (401) → find the workspace → authorize (404 for outsiders, 403 for a
role too low). All of it happens before the request body is read or decoded. With
authentication off every call is allowed and made by ``anonymous``, as before.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from runyard.api.call import Access, Call, Route
from runyard.auth import authenticate as authn
from runyard.auth.authorize import WORKSPACE_SCOPED, authorize, workspace_not_found
from runyard.entities import ANONYMOUS, DEFAULT_WORKSPACE, Principal, Workspace
from runyard.errors import NotFound
from runyard.services import Services
from runyard.services.audit import current_actor
from runyard.services.clock import now_ms


class AccessGate:
    def __init__(self, services: Services, enabled: bool) -> None:
        self.enabled = enabled
        self._services = services
        self._authn = authn.Authenticator(services.access)

    async def resolve(self, request: Request, workspace: str | None, route: Route) -> Call:
        name = workspace or request.headers.get("x-mlflow-workspace") or None
        if route.workspace_param:
            name = request.path_params.get(route.workspace_param) or name
        services = self._services
        if not self.enabled:
            return Call(services=services, workspace=services.workspaces.resolve(name), request=request,
                        principal=ANONYMOUS)  # fmt: skip
        name = name or DEFAULT_WORKSPACE
        access = route.access
        if access is Access.PUBLIC:
            # Public routes answer the same way for every name, so they reveal nothing about
            # which workspaces exist. The one that reads data (multipart part uploads) is
            # guarded by its unguessable upload id, and needs the real workspace to find it.
            try:
                ws_public = services.workspaces.resolve(name)
            except NotFound:
                ws_public = _outside(name)
            return Call(services=services, workspace=ws_public, request=request)
        ws: Workspace | None
        try:
            ws = services.workspaces.resolve(name) if access is not Access.AUTHENTICATED else None
        except NotFound:
            ws = None
        principal, role = await self._identify(request, ws.id if ws and access in WORKSPACE_SCOPED else None)
        authorize(principal, access, name, role, workspace_exists=ws is not None)
        if ws is None:
            if access is Access.ADMIN:  # admins may know which workspaces exist
                raise workspace_not_found(name)
            ws = _outside(name)
        current_actor.set(principal.name)
        return Call(
            services=services, workspace=ws, request=request, user=principal.name, principal=principal
        )

    async def _identify(self, request: Request, workspace_id: int | None) -> tuple[Principal, str | None]:
        presented = authn.presented(request.headers.get("authorization"))
        parsed = authn.parse(presented)
        row = self._authn.cached(parsed, workspace_id)
        if row is None:
            row = await run_in_threadpool(self._authn.load, parsed, workspace_id)
        principal = authn.check(row, parsed, presented.basic_user, now_ms())
        assert row is not None
        return principal, row.role


def _outside(name: str) -> Workspace:
    """A stand-in for routes that do not act on a workspace: it matches no row."""
    return Workspace(id=-1, name=name)


__all__ = ["AccessGate"]
