"""Runyard's own access-control messages (/api/2.0/runyard/...), in MLflow's JSON style.

Fields a client always needs (names, roles, flags) have no default, so they are always
sent, even when false or empty.
"""

from __future__ import annotations

from runyard.api.wire.base import Message


# -- who am I -----------------------------------------------------------------------------
class Principal(Message):
    name: str
    kind: str
    is_admin: bool
    creation_time: int | None = None


class WorkspaceRole(Message):
    name: str
    role: str


class MeResponse(Message):
    principal: Principal
    workspaces: list[WorkspaceRole]


# -- users --------------------------------------------------------------------------------
class CreateUser(Message):
    name: str | None = None
    admin: bool = False


class UpdateUser(Message):
    name: str | None = None
    admin: bool | None = None


class DeleteUser(Message):
    name: str | None = None


class UserResponse(Message):
    user: Principal


class ListUsersResponse(Message):
    users: list[Principal]


# -- members ------------------------------------------------------------------------------
class Member(Message):
    principal: str
    kind: str
    role: str
    creation_time: int | None = None


class GrantRole(Message):
    principal: str | None = None
    role: str | None = None


class RevokeRole(Message):
    principal: str | None = None


class MemberResponse(Message):
    member: Member


class ListMembersResponse(Message):
    workspace: str
    members: list[Member]


# -- service principals -------------------------------------------------------------------
class ServicePrincipal(Message):
    name: str
    principal: str
    workspace: str
    client_id: str
    role: str | None
    created_by: str
    creation_time: int


class CreateServicePrincipal(Message):
    name: str | None = None
    role: str | None = None


class CreateServicePrincipalResponse(Message):
    service_principal: ServicePrincipal
    client_id: str
    client_secret: str


class ListServicePrincipalsResponse(Message):
    service_principals: list[ServicePrincipal]


class DeleteServicePrincipal(Message):
    name: str | None = None


# -- tokens -------------------------------------------------------------------------------
class Token(Message):
    id: str
    name: str
    kind: str
    principal: str
    creation_time: int
    expires_at: int  # milliseconds since the epoch
    revoked: bool
    revoked_time: int | None = None


class CreateToken(Message):
    name: str | None = None
    expires_in_days: int | None = None
    # An admin may issue a token for someone else (e.g. a new user's first credential).
    principal: str | None = None


class CreateTokenResponse(Message):
    token: Token
    secret: str


class ListTokens(Message):
    all: bool = False


class ListTokensResponse(Message):
    tokens: list[Token]


class RevokeToken(Message):
    id: str | None = None


# -- audit --------------------------------------------------------------------------------
class ListAudit(Message):
    max_results: int | None = None
    page_token: str | None = None


class AuditEntry(Message):
    id: int
    time: int
    workspace: str | None
    actor: str
    action: str
    target: str
    details: str | None = None


class ListAuditResponse(Message):
    entries: list[AuditEntry]
    next_page_token: str | None = None


# -- device sign-in and the token endpoint ------------------------------------------------
class DeviceCodeRequest(Message):
    client_id: str | None = None  # accepted for OAuth clients that send it; not needed


class DeviceCodeResponse(Message):
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


class DeviceDecision(Message):
    user_code: str | None = None


class TokenResponse(Message):
    access_token: str
    token_type: str
    expires_in: int
