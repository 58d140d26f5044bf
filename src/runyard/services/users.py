"""The life of a user after sign-up: made admin, demoted, deleted, or recovered from the console.

One rule holds throughout: a server never loses its last admin through the API, because then
nobody could manage it. ``recover`` is the way back when every admin credential is lost; it
runs on the server machine against the database (``runyard user recover``), not over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable

from runyard.auth import tokens as tok
from runyard.entities import Principal, Token
from runyard.errors import InvalidParameter, InvalidState, NotFound
from runyard.services import validation as v
from runyard.services.access import valid_user_name
from runyard.services.audit import record
from runyard.services.clock import now_ms
from runyard.store.sql import access as sql
from runyard.store.sql.engine import Database

_DAY_MS = 86_400_000
RECOVERY_TOKEN_DAYS = 1
CONSOLE = "runyard (console)"


def _last_admin_error(name: str, what: str) -> InvalidState:
    return InvalidState(
        f"Cannot {what} '{name}': it is the last admin of this server. "
        "Make another user an admin first (`runyard user promote NAME`)."
    )


class UserService:
    def __init__(self, db: Database, changed: Callable[[], None]) -> None:
        self._db = db
        # Tells the per-process credential cache that roles changed (see AccessService).
        self._changed = changed

    def set_admin(self, actor: Principal, name: str | None, admin: bool) -> Principal:
        """Make a user or service principal a global admin, or take that away."""
        v.require(name, "name")
        assert name is not None

        def tx(conn) -> Principal:
            who = sql.principal_by_name(conn, name)
            if who is None:
                raise NotFound(f"No user or service principal named '{name}'.")
            if who.is_admin == admin:
                return who
            if not admin and sql.count_admins(conn) <= 1:
                raise _last_admin_error(name, "demote")
            sql.set_admin(conn, who.id, admin)
            action = "user.promote" if admin else "user.demote"
            record(conn, None, action, who.name, {"admin": admin}, actor=actor.name)
            return Principal(who.id, who.name, who.kind, admin, who.creation_time)

        changed = self._db.write(tx)
        self._changed()
        return changed

    def delete_user(self, actor: Principal, name: str | None) -> None:
        """Delete a user: their roles and every token they hold stop working at once."""
        v.require(name, "name")
        assert name is not None

        def tx(conn) -> None:
            who = sql.principal_by_name(conn, name)
            if who is None:
                raise NotFound(f"No user named '{name}'.")
            if who.kind != "user":
                raise InvalidParameter(
                    f"'{name}' is a service principal; delete it with `runyard sp delete` in its workspace."
                )
            if who.is_admin and sql.count_admins(conn) <= 1:
                raise _last_admin_error(name, "delete")
            sql.delete_principal(conn, who.id)
            record(conn, None, "user.delete", who.name, actor=actor.name)

        self._db.write(tx)
        self._changed()

    def recover(self, name: str = "admin") -> tuple[Token, str]:
        """Console recovery: make ``name`` an admin (creating the user if needed) and mint a
        one-day token for them. Returns the token and its secret (shown once)."""
        name = valid_user_name(name)
        minted = tok.mint("pat")
        now = now_ms()
        expires_at = now + RECOVERY_TOKEN_DAYS * _DAY_MS

        def tx(conn) -> Token:
            who = sql.principal_by_name(conn, name)
            if who is None:
                who = sql.insert_principal(conn, name, "user", True, now)
                record(conn, None, "user.create", name, {"admin": True}, actor=CONSOLE)
            elif who.kind != "user":
                raise InvalidParameter(f"'{name}' is a service principal; recover a user instead.")
            elif not who.is_admin:
                sql.set_admin(conn, who.id, True)
                record(conn, None, "user.promote", name, {"admin": True}, actor=CONSOLE)
            sql.insert_token(conn, minted.id, who.id, "pat", "recovery", minted.secret_hash, now, expires_at)
            record(conn, None, "token.create", f"{name}: recovery ({minted.id})", actor=CONSOLE)
            return Token(minted.id, "recovery", "pat", name, now, expires_at)

        token = self._db.write(tx)
        self._changed()
        return token, minted.token


__all__ = ["RECOVERY_TOKEN_DAYS", "UserService"]
