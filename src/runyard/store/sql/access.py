"""SQL for principals, workspace members, service principals, tokens and device codes.

Membership rows and service principals carry ``workspace_id``; principals and tokens are
global (a person is one principal across workspaces).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from runyard.entities import Member, Principal, ServicePrincipal, Token
from runyard.store.sql.dialect import dialect_insert
from runyard.store.sql.schema import (
    device_codes,
    principals,
    service_principals,
    tokens,
    workspace_members,
    workspaces,
)

_p, _m, _sp, _t, _d = principals.c, workspace_members.c, service_principals.c, tokens.c, device_codes.c
_PRINCIPAL_COLS = (_p.id, _p.name, _p.kind, _p.is_admin, _p.creation_time)


def _principal(r) -> Principal:  # noqa: ANN001 - a Row
    return Principal(r.id, r.name, r.kind, bool(r.is_admin), r.creation_time)


# -- principals ---------------------------------------------------------------------------
def principal_by_name(conn: Connection, name: str) -> Principal | None:
    r = conn.execute(select(*_PRINCIPAL_COLS).where(_p.name == name)).first()
    return _principal(r) if r else None


def list_principals(conn: Connection) -> list[Principal]:
    return [_principal(r) for r in conn.execute(select(*_PRINCIPAL_COLS).order_by(_p.name))]


def any_admin(conn: Connection) -> bool:
    return conn.execute(select(_p.id).where(_p.is_admin.is_(True)).limit(1)).first() is not None


def insert_principal(conn: Connection, name: str, kind: str, is_admin: bool, now: int) -> Principal:
    pid = conn.execute(
        insert(principals).values(name=name, kind=kind, is_admin=is_admin, creation_time=now).returning(_p.id)
    ).scalar_one()
    return Principal(pid, name, kind, is_admin, now)


def delete_principal(conn: Connection, principal_id: int) -> None:
    conn.execute(delete(workspace_members).where(_m.principal_id == principal_id))
    conn.execute(delete(tokens).where(_t.principal_id == principal_id))
    conn.execute(delete(principals).where(_p.id == principal_id))


def count_admins(conn: Connection) -> int:
    return conn.execute(
        select(func.count()).select_from(principals).where(_p.is_admin.is_(True))
    ).scalar_one()


def set_admin(conn: Connection, principal_id: int, is_admin: bool) -> None:
    conn.execute(update(principals).where(_p.id == principal_id).values(is_admin=is_admin))


# -- members ------------------------------------------------------------------------------
def role_of(conn: Connection, workspace_id: int, principal_id: int) -> str | None:
    return conn.execute(
        select(_m.role).where(_m.workspace_id == workspace_id, _m.principal_id == principal_id)
    ).scalar()


def upsert_member(conn: Connection, workspace_id: int, principal_id: int, role: str, now: int) -> None:
    stmt = dialect_insert(conn, workspace_members).values(
        workspace_id=workspace_id, principal_id=principal_id, role=role, creation_time=now
    )
    conn.execute(
        stmt.on_conflict_do_update(index_elements=["workspace_id", "principal_id"], set_={"role": role})
    )


def delete_member(conn: Connection, workspace_id: int, principal_id: int) -> bool:
    result = conn.execute(
        delete(workspace_members).where(_m.workspace_id == workspace_id, _m.principal_id == principal_id)
    )
    return result.rowcount > 0


def list_members(conn: Connection, workspace_id: int) -> list[Member]:
    stmt = (
        select(_p.name, _p.kind, _m.role, _m.creation_time)
        .select_from(workspace_members.join(principals, _p.id == _m.principal_id))
        .where(_m.workspace_id == workspace_id)
        .order_by(_p.name)
    )
    return [Member(*r) for r in conn.execute(stmt)]


def memberships(conn: Connection, principal_id: int) -> list[tuple[str, str]]:
    """(workspace name, role) for every workspace the principal belongs to."""
    stmt = (
        select(workspaces.c.name, _m.role)
        .select_from(workspace_members.join(workspaces, workspaces.c.id == _m.workspace_id))
        .where(_m.principal_id == principal_id)
        .order_by(workspaces.c.name)
    )
    return [(r[0], r[1]) for r in conn.execute(stmt)]


def forget_workspace(conn: Connection, workspace_id: int) -> None:
    """Drop everything that grants access to a workspace that is being deleted."""
    sp_ids = select(_sp.principal_id).where(_sp.workspace_id == workspace_id)
    conn.execute(delete(tokens).where(_t.principal_id.in_(sp_ids)))
    conn.execute(delete(workspace_members).where(_m.principal_id.in_(sp_ids)))
    conn.execute(delete(principals).where(_p.id.in_(sp_ids)))
    conn.execute(delete(service_principals).where(_sp.workspace_id == workspace_id))
    conn.execute(delete(workspace_members).where(_m.workspace_id == workspace_id))


# -- service principals -------------------------------------------------------------------
@dataclass(frozen=True)
class ClientRow:
    principal: Principal
    secret_hash: str


def insert_service_principal(
    conn: Connection,
    workspace_id: int,
    principal_id: int,
    name: str,
    client_id: str,
    secret_hash: str,
    created_by: str,
    now: int,
) -> None:
    conn.execute(
        insert(service_principals).values(
            principal_id=principal_id,
            workspace_id=workspace_id,
            name=name,
            client_id=client_id,
            secret_hash=secret_hash,
            created_by=created_by,
            creation_time=now,
        )
    )


def _sp_select(workspace_id: int):  # noqa: ANN202 - a Select
    role = and_(_m.principal_id == _sp.principal_id, _m.workspace_id == workspace_id)
    return (
        select(_sp.name, _p.name.label("principal"), workspaces.c.name.label("workspace"), _sp.client_id)
        .add_columns(_m.role, _sp.created_by, _sp.creation_time)
        .select_from(
            service_principals.join(principals, _p.id == _sp.principal_id)
            .join(workspaces, workspaces.c.id == _sp.workspace_id)
            .outerjoin(workspace_members, role)
        )
        .where(_sp.workspace_id == workspace_id)
    )


def list_service_principals(conn: Connection, workspace_id: int) -> list[ServicePrincipal]:
    rows = conn.execute(_sp_select(workspace_id).order_by(_sp.name))
    return [ServicePrincipal(*r) for r in rows]


def get_service_principal(conn: Connection, workspace_id: int, name: str) -> ServicePrincipal | None:
    r = conn.execute(_sp_select(workspace_id).where(_sp.name == name)).first()
    return ServicePrincipal(*r) if r else None


def service_principal_id(conn: Connection, workspace_id: int, name: str) -> int | None:
    return conn.execute(
        select(_sp.principal_id).where(_sp.workspace_id == workspace_id, _sp.name == name)
    ).scalar()


def delete_service_principal(conn: Connection, principal_id: int) -> None:
    conn.execute(delete(service_principals).where(_sp.principal_id == principal_id))
    delete_principal(conn, principal_id)


def client_by_id(conn: Connection, client_id: str) -> ClientRow | None:
    r = conn.execute(
        select(*_PRINCIPAL_COLS, _sp.secret_hash)
        .select_from(service_principals.join(principals, _p.id == _sp.principal_id))
        .where(_sp.client_id == client_id)
    ).first()
    return ClientRow(_principal(r), r.secret_hash) if r else None


# -- tokens -------------------------------------------------------------------------------
@dataclass(frozen=True)
class CredentialRow:
    """A token row joined with its principal and the principal's role in one workspace."""

    secret_hash: str
    kind: str
    name: str
    expires_at: int
    revoked_time: int | None
    principal: Principal
    role: str | None


def credential(conn: Connection, token_id: str, workspace_id: int | None) -> CredentialRow | None:
    """Everything one request's check needs, in one round trip."""
    joined = tokens.join(principals, _p.id == _t.principal_id)
    token_cols = (_t.kind.label("token_kind"), _t.name.label("token_name"))
    cols = [_t.secret_hash, *token_cols, _t.expires_at, _t.revoked_time, *_PRINCIPAL_COLS]
    if workspace_id is not None:
        on = and_(_m.principal_id == _p.id, _m.workspace_id == workspace_id)
        joined = joined.outerjoin(workspace_members, on)
        cols.append(_m.role)
    r = conn.execute(select(*cols).select_from(joined).where(_t.id == token_id)).first()
    if r is None:
        return None
    role = r.role if workspace_id is not None else None
    return CredentialRow(
        r.secret_hash, r.token_kind, r.token_name, r.expires_at, r.revoked_time, _principal(r), role
    )


def insert_token(
    conn: Connection,
    token_id: str,
    principal_id: int,
    kind: str,
    name: str,
    secret_hash: str,
    now: int,
    expires_at: int,
) -> None:
    conn.execute(
        insert(tokens).values(
            id=token_id,
            principal_id=principal_id,
            kind=kind,
            name=name,
            secret_hash=secret_hash,
            creation_time=now,
            expires_at=expires_at,
        )
    )


def purge_expired_tokens(conn: Connection, principal_id: int, kind: str, before: int) -> None:
    conn.execute(
        delete(tokens).where(_t.principal_id == principal_id, _t.kind == kind, _t.expires_at < before)
    )


def _token_select():  # noqa: ANN202 - a Select
    return select(
        _t.id, _t.name, _t.kind, _p.name, _t.creation_time, _t.expires_at, _t.revoked_time
    ).select_from(tokens.join(principals, _p.id == _t.principal_id))


def list_tokens(conn: Connection, principal_id: int | None, kinds: tuple[str, ...]) -> list[Token]:
    stmt = _token_select().where(_t.kind.in_(kinds))
    if principal_id is not None:
        stmt = stmt.where(_t.principal_id == principal_id)
    return [Token(*r) for r in conn.execute(stmt.order_by(_t.creation_time.desc(), _t.id))]


def get_token(conn: Connection, token_id: str) -> tuple[Token, int] | None:
    """The token and its owner's principal id."""
    r = conn.execute(_token_select().add_columns(_t.principal_id).where(_t.id == token_id)).first()
    return (Token(*r[:7]), r[7]) if r else None


def revoke_token(conn: Connection, token_id: str, now: int) -> None:
    conn.execute(update(tokens).where(_t.id == token_id, _t.revoked_time.is_(None)).values(revoked_time=now))


# -- device codes -------------------------------------------------------------------------
@dataclass(frozen=True)
class DeviceRow:
    user_code: str
    status: str
    principal_id: int | None
    expires_at: int


def insert_device_code(conn: Connection, code_hash: str, user_code: str, now: int, expires_at: int) -> None:
    conn.execute(
        insert(device_codes).values(
            code_hash=code_hash,
            user_code=user_code,
            status="pending",
            creation_time=now,
            expires_at=expires_at,
        )
    )


def user_code_taken(conn: Connection, user_code: str) -> bool:
    return conn.execute(select(func.count()).where(_d.user_code == user_code)).scalar_one() > 0


def purge_device_codes(conn: Connection, before: int) -> None:
    conn.execute(delete(device_codes).where(_d.expires_at < before))


def device_by_hash(conn: Connection, code_hash: str) -> DeviceRow | None:
    r = conn.execute(
        select(_d.user_code, _d.status, _d.principal_id, _d.expires_at).where(_d.code_hash == code_hash)
    ).first()
    return DeviceRow(*r) if r else None


def decide_device_code(conn: Connection, user_code: str, status: str, principal_id: int, now: int) -> bool:
    """Approve or deny a pending, unexpired sign-in; False when there is none."""
    result = conn.execute(
        update(device_codes)
        .where(_d.user_code == user_code, _d.status == "pending", _d.expires_at > now)
        .values(status=status, principal_id=principal_id)
    )
    return result.rowcount == 1


def consume_device_code(conn: Connection, code_hash: str) -> bool:
    """approved → used, exactly once even when two polls race."""
    result = conn.execute(
        update(device_codes).where(_d.code_hash == code_hash, _d.status == "approved").values(status="used")
    )
    return result.rowcount == 1
