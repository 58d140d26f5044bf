"""Access pages: sign in and out, the owners' access page, and device sign-in approval."""

from __future__ import annotations

from starlette.responses import Response

from runyard.api.call import Access
from runyard.entities import ROLES
from runyard.errors import InvalidState, RunyardError, Unauthenticated
from runyard.ui.web import SESSION_COOKIE, Ctx, safe_next, set_cookie

_SESSION_S = 30 * 86400  # the token's own expiry still applies on every request


def signin_form(ctx: Ctx) -> Response:
    if not ctx.ui.auth_on:
        return ctx.redirect(safe_next(ctx.param("next")))
    return ctx.render("signin.html", next=safe_next(ctx.param("next")), error=None)


def signin(ctx: Ctx) -> Response:
    target = safe_next(ctx.field("next"))
    if not ctx.ui.auth_on:
        return ctx.redirect(target)
    token = ctx.field("token").strip()
    try:
        principal, _role = ctx.ui.identify(token, None)
    except Unauthenticated as err:
        return ctx.render("signin.html", status=401, next=target, error=err.message)
    if principal.kind != "user":
        return ctx.render(
            "signin.html", status=403, next=target,
            error="Service principals cannot sign in to the web UI; use a personal access token.",
        )  # fmt: skip
    response = ctx.redirect(target)
    set_cookie(response, ctx.request, SESSION_COOKIE, token, max_age=_SESSION_S)
    return response


def signout(ctx: Ctx) -> Response:
    response = ctx.redirect("/signin" if ctx.ui.auth_on else "/")
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def access_page(ctx: Ctx) -> Response:
    svc = ctx.services.access
    tokens, token_note = [], None
    try:
        tokens = svc.list_tokens(ctx.principal)
    except InvalidState as err:
        token_note = err.message
    audit = ctx.services.audit.list(ctx.ws, ctx.principal, 100, ctx.param("page_token") or None)
    return ctx.render(
        "access.html",
        members=svc.members(ctx.ws),
        service_principals=svc.list_service_principals(ctx.ws),
        tokens=tokens,
        token_note=token_note,
        audit=audit.items,
        next_token=audit.next_page_token,
        roles=ROLES,
        message=ctx.param("message"),
    )


def change_role(ctx: Ctx) -> Response:
    """Owners grant a role (or change it) and remove members from the access page."""
    ctx.require(Access.MANAGE)
    who = ctx.field("principal").strip()
    if ctx.field("action") == "revoke":
        ctx.services.access.revoke(ctx.principal, ctx.ws, who)
        note = f"Removed {who} from {ctx.ws.name}."
    else:
        member = ctx.services.access.grant(ctx.principal, ctx.ws, who, ctx.field("role"))
        note = f"{member.principal} is now {member.role} in {ctx.ws.name}."
    return ctx.redirect(ctx.url("/access", message=note))


def device_form(ctx: Ctx) -> Response:
    return ctx.render("device.html", code=ctx.param("user_code"), result=None, ok=False)


def device_decide(ctx: Ctx) -> Response:
    """Approve or deny with the signed-in session, or with a token pasted into the form."""
    code = ctx.field("user_code").strip()
    approve = ctx.field("action") != "deny"
    try:
        principal = ctx.principal
        pasted = ctx.field("token").strip()
        if pasted or principal.id < 0:
            principal, _role = ctx.ui.identify(pasted, None)
        ctx.services.oauth.decide_device(principal, code, approve)
    except RunyardError as err:
        return ctx.render("device.html", status=err.http_status, code=code, result=err.message, ok=False)
    result = (
        "Approved: the device is now signed in. You can close this page."
        if approve
        else "Denied: the device was refused."
    )
    return ctx.render("device.html", code=code, result=result, ok=True)


__all__ = ["access_page", "change_role", "device_decide", "device_form", "signin", "signin_form", "signout"]
