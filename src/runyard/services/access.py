"""Access: users, workspace roles, service principals, personal access tokens, the first admin.

Every change is audited in its own transaction and bumps ``generation``, which tells the
per-process credential cache of runyard.auth to forget what it knew (other replicas
notice within that cache's short TTL).
"""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError

from runyard.auth import passwords
from runyard.auth import tokens as tok
from runyard.entities import ROLES, Member, Principal, ServicePrincipal, Token, Workspace
from runyard.errors import AlreadyExists, InvalidParameter, InvalidState, NotFound, PermissionDenied
from runyard.services import validation as v
from runyard.services.audit import record
from runyard.services.clock import now_ms
from runyard.store.sql import access as sql
from runyard.store.sql import workspaces as ws_sql
from runyard.store.sql.engine import Database
from runyard.store.sql.schema import NAME

# Users may be plain names or e-mail addresses; "/" is kept for "<workspace>/<service>".
_USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
_SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_RESERVED = {"anonymous"}
_DAY_MS = 86_400_000
MAX_TOKEN_DAYS = 3650
DEFAULT_TOKEN_DAYS = 90
BOOTSTRAP_TOKEN_DAYS = 365
_LISTED_TOKEN_KINDS = ("pat", "device")


def valid_role(role: str | None) -> str:
    if role not in ROLES:
        raise InvalidParameter(f"Invalid role '{role}'. Allowed values: {', '.join(ROLES)}.")
    return role


def _valid_name(name: str | None, pattern: re.Pattern[str], what: str) -> str:
    v.require(name, "name")
    assert name is not None
    if not pattern.match(name) or name.lower() in _RESERVED:
        raise InvalidParameter(
            f"Invalid {what} name '{name}'. Use up to 128 letters, digits and . _ - "
            f"{'@ + ' if pattern is _USER_NAME else ''}starting with a letter or digit."
        )
    return name


def valid_user_name(name: str | None) -> str:
    return _valid_name(name, _USER_NAME, "user")


def _signed_in(principal: Principal, what: str) -> None:
    if principal.id <= 0:
        raise InvalidState(
            f"{what} belong to a signed-in principal, and this server runs with authentication off. "
            "Start it with --auth on."
        )


class AccessService:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.generation = 0

    def _changed(self) -> None:
        self.generation += 1

    def changed(self) -> None:
        """Something outside this service changed who may do what (see UserService)."""
        self._changed()

    # -- what a request's check needs ------------------------------------------------------
    def credential(self, token_id: str, workspace_id: int | None) -> sql.CredentialRow | None:
        with self._db.read() as conn:
            return sql.credential(conn, token_id, workspace_id)

    # -- users ------------------------------------------------------------------------------
    def create_user(self, actor: Principal, name: str | None, admin: bool) -> Principal:
        name = _valid_name(name, _USER_NAME, "user")
        now = now_ms()

        def tx(conn) -> Principal:
            if sql.principal_by_name(conn, name) is not None:
                raise AlreadyExists(f"A user or service principal named '{name}' already exists.")
            user = sql.insert_principal(conn, name, "user", admin, now)
            record(conn, None, "user.create", name, {"admin": admin}, actor=actor.name)
            return user

        try:
            return self._db.write(tx)
        except IntegrityError:
            raise AlreadyExists(f"A user or service principal named '{name}' already exists.") from None

    def list_principals(self) -> list[Principal]:
        with self._db.read() as conn:
            return sql.list_principals(conn)

    def memberships(self, principal: Principal) -> list[tuple[str, str]]:
        """(workspace, role) pairs; an admin is also listed as "admin" everywhere else."""
        with self._db.read() as conn:
            own = sql.memberships(conn, principal.id) if principal.id > 0 else []
            if not principal.is_admin:
                return own
            roles = dict(own)
            return [(ws.name, roles.get(ws.name, "admin")) for ws in ws_sql.list_all(conn)]

    def visible_workspaces(self, principal: Principal | None, all_: list[Workspace]) -> list[Workspace]:
        if principal is None or principal.is_admin:
            return all_
        mine = {name for name, _role in self.memberships(principal)}
        return [ws for ws in all_ if ws.name in mine]

    # -- roles ------------------------------------------------------------------------------
    def grant(self, actor: Principal, ws: Workspace, principal_name: str | None, role: str | None) -> Member:
        v.require(principal_name, "principal")
        role = valid_role(role)
        now = now_ms()

        def tx(conn) -> Member:
            who = sql.principal_by_name(conn, principal_name)
            if who is None:
                raise NotFound(
                    f"No user or service principal named '{principal_name}'. "
                    f"Add the user first with `runyard user add {principal_name}`."
                )
            sql.upsert_member(conn, ws.id, who.id, role, now)
            record(conn, ws.id, "role.grant", who.name, {"role": role}, actor=actor.name)
            return Member(who.name, who.kind, role, now)

        member = self._db.write(tx)
        self._changed()
        return member

    def revoke(self, actor: Principal, ws: Workspace, principal_name: str | None) -> None:
        v.require(principal_name, "principal")

        def tx(conn) -> None:
            who = sql.principal_by_name(conn, principal_name)
            if who is None or not sql.delete_member(conn, ws.id, who.id):
                raise NotFound(f"'{principal_name}' is not a member of workspace '{ws.name}'.")
            record(conn, ws.id, "role.revoke", who.name, actor=actor.name)

        self._db.write(tx)
        self._changed()

    def members(self, ws: Workspace) -> list[Member]:
        with self._db.read() as conn:
            return sql.list_members(conn, ws.id)

    # -- service principals -----------------------------------------------------------------
    def create_service_principal(
        self, actor: Principal, ws: Workspace, name: str | None, role: str | None
    ) -> tuple[ServicePrincipal, str, str]:
        """The service principal, its client id and its secret (returned this once only)."""
        name = _valid_name(name, _SERVICE_NAME, "service principal")
        role = valid_role(role or "reader")
        client_id, secret = tok.new_client_credentials()
        secret_hash = passwords.hash_password(secret)  # slow on purpose: outside the transaction
        full_name = f"{ws.name}/{name}"
        now = now_ms()

        def tx(conn) -> ServicePrincipal:
            if sql.service_principal_id(conn, ws.id, name) is not None or sql.principal_by_name(
                conn, full_name
            ):
                raise AlreadyExists(f"Service principal '{name}' already exists in workspace '{ws.name}'.")
            principal = sql.insert_principal(conn, full_name, "service", False, now)
            sql.insert_service_principal(
                conn, ws.id, principal.id, name, client_id, secret_hash, actor.name, now
            )
            sql.upsert_member(conn, ws.id, principal.id, role, now)
            record(conn, ws.id, "service_principal.create", full_name, {"role": role}, actor=actor.name)
            return ServicePrincipal(name, full_name, ws.name, client_id, role, actor.name, now)

        try:
            sp = self._db.write(tx)
        except IntegrityError:
            raise AlreadyExists(
                f"Service principal '{name}' already exists in workspace '{ws.name}'."
            ) from None
        self._changed()
        return sp, client_id, secret

    def list_service_principals(self, ws: Workspace) -> list[ServicePrincipal]:
        with self._db.read() as conn:
            return sql.list_service_principals(conn, ws.id)

    def delete_service_principal(self, actor: Principal, ws: Workspace, name: str | None) -> None:
        v.require(name, "name")

        def tx(conn) -> None:
            pid = sql.service_principal_id(conn, ws.id, name)
            if pid is None:
                raise NotFound(f"No service principal named '{name}' in workspace '{ws.name}'.")
            sql.delete_service_principal(conn, pid)
            record(conn, ws.id, "service_principal.delete", f"{ws.name}/{name}", actor=actor.name)

        self._db.write(tx)
        self._changed()

    # -- personal access tokens -------------------------------------------------------------
    def create_token(
        self,
        caller: Principal,
        name: str | None,
        expires_in_days: int | None,
        for_principal: str | None = None,
    ) -> tuple[Token, str]:
        """A personal access token for the caller, or (admins only) for another user.

        The secret is returned this once only. Issuing a token to a new user is how they
        get their first credential (then they can sign in with `runyard login`).
        """
        owner = caller
        if for_principal and for_principal != caller.name:
            if not caller.is_admin:
                raise PermissionDenied("Only a Runyard admin may create a token for someone else.")
            with self._db.read() as conn:
                found = sql.principal_by_name(conn, for_principal)
            if found is None:
                raise NotFound(f"No user named '{for_principal}'. Add one with `runyard user add`.")
            owner = found
        _signed_in(owner, "Tokens")
        if owner.kind == "service":
            raise PermissionDenied(
                "Service principals cannot create personal access tokens: they exchange their "
                "client secret at /api/2.0/runyard/oauth/token for short-lived access tokens."
            )
        v.require(name, "name")
        assert name is not None
        if len(name) > NAME:
            raise InvalidParameter(f"Token name is {len(name)} characters long; at most {NAME} are allowed.")
        days = DEFAULT_TOKEN_DAYS if expires_in_days is None else expires_in_days
        if not 1 <= days <= MAX_TOKEN_DAYS:
            raise InvalidParameter(
                f"Invalid expires_in_days {days}: it must be a whole number of days "
                f"from 1 to {MAX_TOKEN_DAYS}."
            )
        return self._mint_pat(owner, name, days, audit_actor=caller.name)

    def _mint_pat(self, owner: Principal, name: str, days: int, audit_actor: str) -> tuple[Token, str]:
        minted = tok.mint("pat")
        now = now_ms()
        expires_at = now + days * _DAY_MS

        def tx(conn) -> None:
            sql.insert_token(conn, minted.id, owner.id, "pat", name, minted.secret_hash, now, expires_at)
            record(conn, None, "token.create", f"{owner.name}: {name} ({minted.id})", actor=audit_actor)

        self._db.write(tx)
        return Token(minted.id, name, "pat", owner.name, now, expires_at), minted.token

    def list_tokens(self, caller: Principal, all_: bool = False) -> list[Token]:
        if all_ and not caller.is_admin:
            raise PermissionDenied("Only a Runyard admin may list the tokens of every user.")
        if not all_:
            _signed_in(caller, "Tokens")
        with self._db.read() as conn:
            return sql.list_tokens(conn, None if all_ else caller.id, _LISTED_TOKEN_KINDS)

    def revoke_token(self, caller: Principal, token_id: str | None) -> None:
        v.require(token_id, "id")
        assert token_id is not None
        now = now_ms()

        def tx(conn) -> None:
            found = sql.get_token(conn, token_id)
            if found is None or (found[1] != caller.id and not caller.is_admin):
                raise NotFound(f"No token with id '{token_id}'. List yours with `runyard token list`.")
            token = found[0]
            sql.revoke_token(conn, token_id, now)
            record(
                conn, None, "token.revoke", f"{token.principal}: {token.name} ({token.id})", actor=caller.name
            )

        self._db.write(tx)
        self._changed()

    # -- the first admin --------------------------------------------------------------------
    def bootstrap_admin(self) -> tuple[str, str] | None:
        """Create user ``admin`` and a token when no admin exists: (name, token), else None."""
        with self._db.read() as conn:
            if sql.any_admin(conn):
                return None
        minted = tok.mint("pat")
        now = now_ms()
        expires_at = now + BOOTSTRAP_TOKEN_DAYS * _DAY_MS

        def tx(conn) -> str | None:
            if sql.any_admin(conn):
                return None
            name = next(
                (
                    n
                    for n in ("admin", *(f"admin-{i}" for i in range(2, 100)))
                    if not sql.principal_by_name(conn, n)
                ),
                None,
            )
            if name is None:
                raise InvalidState(
                    "Cannot create the first admin: the names admin, admin-2... are all taken."
                )
            admin = sql.insert_principal(conn, name, "user", True, now)
            sql.insert_token(
                conn, minted.id, admin.id, "pat", "bootstrap", minted.secret_hash, now, expires_at
            )
            record(conn, None, "user.create", name, {"admin": True}, actor="runyard")
            record(conn, None, "token.create", f"{name}: bootstrap ({minted.id})", actor="runyard")
            return name

        try:
            name = self._db.write(tx)
        except IntegrityError:
            return None  # another replica bootstrapped at the same moment
        return (name, minted.token) if name else None


__all__ = ["AccessService", "valid_role", "valid_user_name"]
