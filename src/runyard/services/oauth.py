"""The token endpoint's rules: client credentials (service principals) and device sign-in.

Both mint short-lived access tokens (``access_token_ttl_s``). Secret guessing is slowed by
the rate limiter: failed client-credentials attempts count against the client id and the
caller's address, and so do unknown device codes. Successful exchanges are not counted, so
hundreds of Spark executors sharing one service principal can all start at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from runyard.auth import passwords
from runyard.auth import tokens as tok
from runyard.entities import Principal
from runyard.errors import (
    AccessDenied,
    AuthorizationPending,
    ExpiredToken,
    InvalidParameter,
    InvalidState,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from runyard.services.audit import record
from runyard.services.clock import now_ms
from runyard.services.ratelimit import RateLimiter
from runyard.store.sql import access as sql
from runyard.store.sql.engine import Database

DEVICE_CODE_TTL_S = 600
POLL_INTERVAL_S = 2
_DAY_MS = 86_400_000
_MAX_FIELD = 512


@dataclass(frozen=True)
class Grant:
    access_token: str
    expires_in: int


@dataclass(frozen=True)
class DeviceStart:
    device_code: str
    user_code: str  # formatted, e.g. "WDJB-MJHT"
    expires_in: int
    interval: int


def _field(value: str | None, name: str) -> str:
    if not value:
        raise InvalidParameter(f"Missing value for required parameter '{name}'.")
    if len(value) > _MAX_FIELD or "\x00" in value:
        raise InvalidParameter(f"Invalid {name}: it is not one this server issued.")
    return value


class OAuthService:
    def __init__(self, db: Database, access_token_ttl_s: int, rate_limit: int) -> None:
        self._db = db
        self.ttl_s = max(1, access_token_ttl_s)
        self.limiter = RateLimiter(db, rate_limit)

    def _mint(self, principal_id: int, kind: str, name: str) -> Grant:
        minted = tok.mint("access")
        now = now_ms()

        def tx(conn) -> None:
            # Minted tokens pile up (one per refresh); drop this principal's long-dead ones.
            sql.purge_expired_tokens(conn, principal_id, kind, now - _DAY_MS)
            sql.insert_token(
                conn, minted.id, principal_id, kind, name, minted.secret_hash, now, now + self.ttl_s * 1000
            )

        self._db.write(tx)
        return Grant(minted.token, self.ttl_s)

    # -- client credentials -----------------------------------------------------------------
    def client_credentials(self, client_id: str | None, client_secret: str | None, address: str) -> Grant:
        client_id = _field(client_id, "client_id")
        client_secret = _field(client_secret, "client_secret")
        self.limiter.check(f"addr:{address}")
        self.limiter.check(f"client:{client_id}")
        with self._db.read() as conn:
            client = sql.client_by_id(conn, client_id)
        if not passwords.verify_password(client.secret_hash if client else None, client_secret):
            self.limiter.hit(f"addr:{address}")
            self.limiter.hit(f"client:{client_id}")
            raise Unauthenticated("Invalid client_id or client_secret.")
        assert client is not None
        return self._mint(client.principal.id, "service", "client credentials")

    # -- device sign-in (RFC 8628) ----------------------------------------------------------
    def start_device(self, address: str) -> DeviceStart:
        self.limiter.hit(f"device:{address}")
        device_code = tok.new_device_code()
        now = now_ms()

        def tx(conn) -> str:
            sql.purge_device_codes(conn, now - _DAY_MS)
            user_code = tok.new_user_code()
            while sql.user_code_taken(conn, user_code):
                user_code = tok.new_user_code()
            sql.insert_device_code(
                conn, tok.hash_secret(device_code), user_code, now, now + DEVICE_CODE_TTL_S * 1000
            )
            return user_code

        user_code = self._db.write(tx)
        return DeviceStart(device_code, tok.format_user_code(user_code), DEVICE_CODE_TTL_S, POLL_INTERVAL_S)

    def decide_device(self, caller: Principal, user_code: str | None, approve: bool) -> None:
        """Approve (bind to the caller) or deny a pending sign-in by the code the person typed."""
        code = tok.normalize_user_code(_field(user_code, "user_code"))
        if caller.id <= 0:
            raise InvalidState("Device sign-in needs authentication on: this server runs with it off.")
        if caller.kind != "user":
            raise PermissionDenied("Only a user can approve a device sign-in, not a service principal.")
        now = now_ms()
        status = "approved" if approve else "denied"

        def tx(conn) -> None:
            if not sql.decide_device_code(conn, code, status, caller.id, now):
                raise NotFound(
                    f"No pending sign-in with code '{user_code}'. Check the code, or start again "
                    "with `runyard login` (codes expire after 10 minutes)."
                )
            record(conn, None, f"signin.{'approve' if approve else 'deny'}", caller.name, actor=caller.name)

        self._db.write(tx)

    def poll_device(self, device_code: str | None, address: str) -> Grant:
        code_hash = tok.hash_secret(_field(device_code, "device_code"))
        self.limiter.check(f"addr:{address}")
        with self._db.read() as conn:
            row = sql.device_by_hash(conn, code_hash)
        if row is None:
            self.limiter.hit(f"addr:{address}")
            raise InvalidParameter("Unknown device_code. Start the sign-in again with `runyard login`.")
        if row.status == "used":
            raise ExpiredToken("This device code was already used. Start again with `runyard login`.")
        if row.status == "denied":
            raise AccessDenied("The sign-in was denied on the server's /device page.")
        if row.status == "pending":
            if row.expires_at <= now_ms():
                raise ExpiredToken(
                    "The device code expired before it was approved. Run `runyard login` again."
                )
            raise AuthorizationPending(
                f"authorization_pending: the sign-in has not been approved yet. Keep polling every "
                f"{POLL_INTERVAL_S} s while the user enters the code on the /device page."
            )
        assert row.principal_id is not None
        minted = tok.mint("access")
        now = now_ms()
        principal_id = row.principal_id

        def tx(conn) -> None:
            if not sql.consume_device_code(conn, code_hash):
                raise ExpiredToken("This device code was already used. Start again with `runyard login`.")
            sql.purge_expired_tokens(conn, principal_id, "device", now - _DAY_MS)
            sql.insert_token(
                conn, minted.id, principal_id, "device", "device sign-in", minted.secret_hash, now,
                now + self.ttl_s * 1000,
            )  # fmt: skip

        self._db.write(tx)
        return Grant(minted.token, self.ttl_s)


__all__ = ["DeviceStart", "Grant", "OAuthService"]
