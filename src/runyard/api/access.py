"""Handlers for /api/2.0/runyard/{me,users,members,service-principals,tokens,audit}."""

from __future__ import annotations

from runyard import entities as e
from runyard.api.call import Call
from runyard.api.wire import access as w
from runyard.api.wire.base import Empty
from runyard.entities import ANONYMOUS
from runyard.errors import InvalidParameter


def _caller(call: Call) -> e.Principal:
    return call.principal or ANONYMOUS


def principal_to_wire(p: e.Principal) -> w.Principal:
    return w.Principal(name=p.name, kind=p.kind, is_admin=p.is_admin, creation_time=p.creation_time or None)


def member_to_wire(m: e.Member) -> w.Member:
    return w.Member(principal=m.principal, kind=m.kind, role=m.role, creation_time=m.creation_time)


def sp_to_wire(sp: e.ServicePrincipal) -> w.ServicePrincipal:
    return w.ServicePrincipal(
        name=sp.name,
        principal=sp.principal,
        workspace=sp.workspace,
        client_id=sp.client_id,
        role=sp.role,
        created_by=sp.created_by,
        creation_time=sp.creation_time,
    )


def token_to_wire(t: e.Token) -> w.Token:
    return w.Token(
        id=t.id,
        name=t.name,
        kind=t.kind,
        principal=t.principal,
        creation_time=t.creation_time,
        expires_at=t.expires_at,
        revoked=t.revoked_time is not None,
        revoked_time=t.revoked_time,
    )


# -- me and users -------------------------------------------------------------------------
def me(call: Call, _req: None) -> w.MeResponse:
    caller = _caller(call)
    spaces = call.services.access.memberships(caller)
    return w.MeResponse(
        principal=principal_to_wire(caller),
        workspaces=[w.WorkspaceRole(name=name, role=role) for name, role in spaces],
    )


def create_user(call: Call, req: w.CreateUser) -> w.UserResponse:
    user = call.services.access.create_user(_caller(call), req.name, req.admin)
    return w.UserResponse(user=principal_to_wire(user))


def list_users(call: Call, _req: None) -> w.ListUsersResponse:
    return w.ListUsersResponse(users=[principal_to_wire(p) for p in call.services.access.list_principals()])


def update_user(call: Call, req: w.UpdateUser) -> w.UserResponse:
    if req.admin is None:
        raise InvalidParameter("Nothing to change: set 'admin' to true or false.")
    user = call.services.users.set_admin(_caller(call), req.name, req.admin)
    return w.UserResponse(user=principal_to_wire(user))


def delete_user(call: Call, req: w.DeleteUser) -> Empty:
    call.services.users.delete_user(_caller(call), req.name)
    return Empty()


# -- members of the call's workspace ------------------------------------------------------
def grant(call: Call, req: w.GrantRole) -> w.MemberResponse:
    member = call.services.access.grant(_caller(call), call.workspace, req.principal, req.role)
    return w.MemberResponse(member=member_to_wire(member))


def revoke(call: Call, req: w.RevokeRole) -> Empty:
    call.services.access.revoke(_caller(call), call.workspace, req.principal)
    return Empty()


def list_members(call: Call, _req: None) -> w.ListMembersResponse:
    members = call.services.access.members(call.workspace)
    return w.ListMembersResponse(workspace=call.workspace.name, members=[member_to_wire(m) for m in members])


# -- service principals -------------------------------------------------------------------
def create_sp(call: Call, req: w.CreateServicePrincipal) -> w.CreateServicePrincipalResponse:
    sp, client_id, secret = call.services.access.create_service_principal(
        _caller(call), call.workspace, req.name, req.role
    )
    return w.CreateServicePrincipalResponse(
        service_principal=sp_to_wire(sp), client_id=client_id, client_secret=secret
    )


def list_sps(call: Call, _req: None) -> w.ListServicePrincipalsResponse:
    sps = call.services.access.list_service_principals(call.workspace)
    return w.ListServicePrincipalsResponse(service_principals=[sp_to_wire(sp) for sp in sps])


def delete_sp(call: Call, req: w.DeleteServicePrincipal) -> Empty:
    call.services.access.delete_service_principal(_caller(call), call.workspace, req.name)
    return Empty()


# -- personal access tokens ---------------------------------------------------------------
def create_token(call: Call, req: w.CreateToken) -> w.CreateTokenResponse:
    token, secret = call.services.access.create_token(
        _caller(call), req.name, req.expires_in_days, for_principal=req.principal
    )
    return w.CreateTokenResponse(token=token_to_wire(token), secret=secret)


def list_tokens(call: Call, req: w.ListTokens) -> w.ListTokensResponse:
    found = call.services.access.list_tokens(_caller(call), req.all)
    return w.ListTokensResponse(tokens=[token_to_wire(t) for t in found])


def revoke_token(call: Call, req: w.RevokeToken) -> Empty:
    call.services.access.revoke_token(_caller(call), req.id)
    return Empty()


# -- audit --------------------------------------------------------------------------------
def audit(call: Call, req: w.ListAudit) -> w.ListAuditResponse:
    page = call.services.audit.list(call.workspace, _caller(call), req.max_results, req.page_token)
    return w.ListAuditResponse(
        entries=[
            w.AuditEntry(
                id=a.id,
                time=a.time,
                workspace=a.workspace,
                actor=a.actor,
                action=a.action,
                target=a.target,
                details=a.details,
            )
            for a in page.items
        ],
        next_page_token=page.next_page_token,
    )
