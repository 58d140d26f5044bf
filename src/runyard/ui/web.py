"""The UI's request plumbing: who is signed in, their role, CSRF, templates and error pages.

Each page is a plain ``def handler(ctx) -> Response`` run in a worker thread (the services are
synchronous), wrapped by ``Ui.page`` which signs the caller in from the session cookie,
resolves the workspace, checks the role the page needs (the same ``authorize`` rule the API
uses) and turns Runyard errors into readable HTML pages.
"""

from __future__ import annotations

import hmac
import logging
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from runyard.api.call import Access
from runyard.auth import authenticate as authn
from runyard.auth.authorize import WORKSPACE_SCOPED, authorize
from runyard.entities import ANONYMOUS, ROLES, Principal, Workspace
from runyard.errors import InvalidParameter, NotFound, PermissionDenied, RunyardError, Unauthenticated
from runyard.search.errors import SearchSyntaxError
from runyard.services import Services
from runyard.services.audit import current_actor
from runyard.services.clock import now_ms

log = logging.getLogger("runyard.ui")

SESSION_COOKIE = "runyard_session"
CSRF_COOKIE = "runyard_csrf"
_RANK = {role: i for i, role in enumerate(ROLES)}
# Pages load their scripts and styles from /static only: no inline script can run.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class _Redirect(Exception):
    def __init__(self, url: str) -> None:
        self.url = url


@dataclass
class Ctx:
    """One page request: the caller, the workspace and what they may do there."""

    ui: Ui
    request: Request
    principal: Principal
    workspace: Workspace | None
    role: str | None
    csrf: str
    form: dict[str, list[str]] = field(default_factory=dict)

    @property
    def services(self) -> Services:
        return self.ui.services

    @property
    def ws(self) -> Workspace:
        assert self.workspace is not None
        return self.workspace

    def allowed(self, needed: str) -> bool:
        if self.principal.is_admin:
            return True
        return _RANK.get(self.role or "", -1) >= _RANK[needed]

    @property
    def can_write(self) -> bool:
        return self.allowed("contributor")

    @property
    def can_manage(self) -> bool:
        return self.allowed("owner")

    def require(self, access: Access) -> None:
        """Refuse a form POST the caller's role does not allow (the page hid its control)."""
        if self.ui.auth_on:
            authorize(self.principal, access, self.ws.name, self.role)

    def param(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)

    def params(self, name: str) -> list[str]:
        return self.request.query_params.getlist(name)

    def field(self, name: str, default: str = "") -> str:
        values = self.form.get(name)
        return values[0] if values else default

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = self.ui.env.get_template(template).render(ctx=self, **values)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)

    def visible_workspaces(self) -> list[Workspace]:
        every = self.services.workspaces.list()
        if not self.ui.auth_on:
            return every
        return self.services.access.visible_workspaces(self.principal, every)

    def base_url(self) -> str:
        return str(self.request.base_url).rstrip("/")

    def url(self, route: str, /, **query: Any) -> str:
        """A URL in the current workspace: ``ctx.url("/runs/x", path="a b")``."""
        prefix = f"/w/{quote(self.ws.name, safe='')}" if self.workspace else ""
        items = [(k, v) for k, v in query.items() if v not in (None, "", [])]
        qs = urlencode(items, doseq=True)
        return prefix + route + (f"?{qs}" if qs else "")


Handler = Callable[[Ctx], Response]


class Ui:
    def __init__(self, services: Services, auth_on: bool) -> None:
        self.services = services
        self.auth_on = auth_on
        self._authn = authn.Authenticator(services.access)
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("runyard.ui", "templates"),
            autoescape=jinja2.select_autoescape(default=True),
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        self.env.filters.update(ts=format_time, duration=format_duration, num=format_number)
        self.env.globals.update(quote=lambda s: quote(str(s), safe=""))

    # -- signing in --------------------------------------------------------------------------
    def identify(self, token: str | None, workspace_id: int | None) -> tuple[Principal, str | None]:
        """The principal behind a session token and their role in the workspace (blocking)."""
        if not self.auth_on:
            return ANONYMOUS, "owner"
        if not token:
            raise Unauthenticated("Sign in to use this Runyard server.")
        parsed = authn.parse(authn.Presented(token))
        row = self._authn.cached(parsed, workspace_id) or self._authn.load(parsed, workspace_id)
        principal = authn.check(row, parsed, None, now_ms())
        assert row is not None
        return principal, row.role

    # -- the page wrapper ----------------------------------------------------------------------
    def page(self, handler: Handler, access: Access = Access.READ, json: bool = False) -> Callable:
        async def endpoint(request: Request) -> Response:
            form: dict[str, list[str]] = {}
            if request.method == "POST":
                body = (await request.body()).decode("utf-8", "replace")
                form = parse_qs(body, keep_blank_values=True)
            csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
            response = await run_in_threadpool(self._serve, handler, access, request, form, csrf, json)
            if request.cookies.get(CSRF_COOKIE) != csrf:
                set_cookie(response, request, CSRF_COOKIE, csrf)
            return response

        return endpoint

    def _serve(
        self,
        handler: Handler,
        access: Access,
        request: Request,
        form: dict[str, list[str]],
        csrf: str,
        json: bool,
    ) -> Response:
        ctx: Ctx | None = None
        try:
            try:
                ctx = self._context(request, access, form, csrf, json)
                if request.method == "POST":
                    self._check_csrf(request, form)
                return handler(ctx)
            except SearchSyntaxError as exc:
                raise InvalidParameter(exc.message) from None
        except _Redirect as r:
            return RedirectResponse(r.url, status_code=303)
        except RunyardError as err:
            return self._refusal(request, ctx, err, json)
        except Exception:
            log.exception("unhandled error in %s %s", request.method, request.url.path)
            return self._refusal(
                request, ctx, RunyardError("Internal server error; see the server log."), json
            )

    def _refusal(self, request: Request, ctx: Ctx | None, err: RunyardError, json: bool) -> Response:
        if json:
            return JSONResponse(err.to_dict(), status_code=err.http_status)
        return self.error_page(request, ctx, err, sign_in=isinstance(err, Unauthenticated))

    def _context(
        self, request: Request, access: Access, form: dict[str, list[str]], csrf: str, json: bool = False
    ) -> Ctx:
        name = request.path_params.get("ws")
        ws: Workspace | None = None
        if name is not None:
            try:
                ws = self.services.workspaces.resolve(name)
            except NotFound:
                ws = None
        token = request.cookies.get(SESSION_COOKIE)
        if access is Access.PUBLIC and (not self.auth_on or not token):
            return Ctx(self, request, ANONYMOUS if not self.auth_on else _GUEST, ws, None, csrf, form)
        try:
            principal, role = self.identify(token, ws.id if ws else None)
        except Unauthenticated:
            if access is Access.PUBLIC:
                return Ctx(self, request, _GUEST, ws, None, csrf, form)
            if json:
                raise
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise _Redirect("/signin?" + urlencode({"next": target})) from None
        if self.auth_on and name is not None and access in WORKSPACE_SCOPED:
            authorize(principal, access, name, role, workspace_exists=ws is not None)
        elif name is not None and ws is None:
            raise NotFound(f"Workspace '{name}' does not exist or you do not have access to it.")
        current_actor.set(principal.name)
        return Ctx(self, request, principal, ws, role, csrf, form)

    @staticmethod
    def _check_csrf(request: Request, form: dict[str, list[str]]) -> None:
        """Double submit: the form's hidden field must equal the SameSite=Strict cookie."""
        sent = (form.get("csrf") or [""])[0]
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not cookie or not hmac.compare_digest(sent.encode(), cookie.encode()):
            raise PermissionDenied(
                "The form is out of date or was sent from another site (CSRF check failed). "
                "Reload the page and try again."
            )

    def error_page(
        self, request: Request, ctx: Ctx | None, err: RunyardError, sign_in: bool = False
    ) -> HTMLResponse:
        csrf = request.cookies.get(CSRF_COOKIE, "")
        ctx = ctx or Ctx(self, request, _GUEST, None, None, csrf)
        return ctx.render("error.html", status=err.http_status, error=err, sign_in=sign_in)


# Who a page shows as signed in when nobody is (auth on, no cookie).
_GUEST = Principal(-1, "", "user", False)


def set_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int | None = None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect to another host after signing in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# -- template filters -----------------------------------------------------------------------
def format_time(ms: int | None) -> str:
    if not ms:
        return "—"
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def format_duration(start: int | None, end: int | None) -> str:
    if not start or not end or end < start:
        return "—"
    s = (end - start) / 1000
    if s < 60:
        return f"{s:.1f}s"
    if s < 3600:
        return f"{int(s // 60)}m {int(s % 60)}s"
    return f"{int(s // 3600)}h {int(s % 3600 // 60)}m"


def format_number(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-4):
            return f"{value:.4g}"
        return f"{value:.6g}"
    return "" if value is None else str(value)


__all__ = ["CSRF_COOKIE", "SESSION_COOKIE", "Ctx", "Ui", "safe_next", "set_cookie"]
