"""Credential → principal. Bearer tokens, or Basic with the token as password.

Each check needs one indexed read (the token joined with its principal and the principal's
role in the workspace). Results are cached per process for ``_TTL_S``; any access change
made in this process clears the cache at once (``AccessService.generation``), and other
replicas see a revocation within the TTL. The secret is compared on every request, cache
or not, and expiry is checked against the clock every time.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from runyard.auth import tokens as tok
from runyard.entities import Principal
from runyard.errors import Unauthenticated
from runyard.services.access import AccessService
from runyard.store.sql.access import CredentialRow

_TTL_S = 2.0
_MAX_ENTRIES = 20_000

NO_CREDENTIAL = (
    "This Runyard server requires authentication. Send `Authorization: Bearer <token>`: set "
    "MLFLOW_TRACKING_TOKEN to a personal access token (create one with `runyard token create`), "
    "sign in with `runyard login`, or use MLFLOW_TRACKING_AUTH=runyard with a service principal."
)
INVALID = (
    "The token is not valid for this server. Check that it was copied whole, or create a new one "
    "with `runyard token create` (or sign in again with `runyard login`)."
)


@dataclass(frozen=True)
class Presented:
    """What the request carried: the token string, and the Basic user name if any."""

    token: str
    basic_user: str | None = None


def presented(authorization: str | None) -> Presented:
    if not authorization:
        raise Unauthenticated(NO_CREDENTIAL)
    scheme, _, value = authorization.strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "bearer" and value:
        return Presented(value)
    if scheme == "basic" and value:
        try:
            user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated("Malformed Basic credentials.") from None
        if sep and password:
            return Presented(password, user)
    raise Unauthenticated(
        "Unsupported Authorization header: use `Bearer <token>`, or Basic with your user name "
        "and a personal access token as the password."
    )


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def check(row: CredentialRow | None, parsed: tok.Parsed, basic_user: str | None, now: int) -> Principal:
    """Refuse a missing, wrong, revoked or expired token with a message saying what to do."""
    if row is None or not tok.secret_matches(parsed.secret, row.secret_hash):
        raise Unauthenticated(INVALID)
    if basic_user is not None and basic_user != row.principal.name:
        raise Unauthenticated(
            f"The user name '{basic_user}' does not own this token. Use your own user name, or "
            "send the token alone as `Authorization: Bearer <token>`."
        )
    which = f"The token '{row.name}'" if row.kind == "pat" else "This access token"
    if row.revoked_time is not None:
        raise Unauthenticated(
            f"{which} was revoked on {_when(row.revoked_time)}. Create a new one with "
            "`runyard token create`, or sign in again with `runyard login`."
        )
    if row.expires_at <= now:
        if row.kind == "service":
            fix = "Request a new one at /api/2.0/runyard/oauth/token (the runyard client plugin does this)."
        elif row.kind == "device":
            fix = "Sign in again with `runyard login`."
        else:
            fix = "Create a new one with `runyard token create`."
        raise Unauthenticated(f"{which} expired on {_when(row.expires_at)}. {fix}")
    return row.principal


class Authenticator:
    def __init__(self, access: AccessService) -> None:
        self._access = access
        self._tokens: dict[str, tuple[float, int, CredentialRow]] = {}
        self._roles: dict[tuple[int, int], tuple[float, int, str | None]] = {}
        self._lock = threading.Lock()

    def cached(self, token: tok.Parsed, workspace_id: int | None) -> CredentialRow | None:
        """The row from the cache if fresh, with the role for ``workspace_id`` filled in."""
        now, gen = time.monotonic(), self._access.generation
        hit = self._tokens.get(token.id)
        if hit is None or hit[0] < now or hit[1] != gen:
            return None
        row = hit[2]
        if workspace_id is None:
            return row
        role = self._roles.get((row.principal.id, workspace_id))
        if role is None or role[0] < now or role[1] != gen:
            return None
        return _with_role(row, role[2])

    def load(self, token: tok.Parsed, workspace_id: int | None) -> CredentialRow | None:
        """Read the row from the database (blocking: call it from a worker thread)."""
        gen = self._access.generation
        row = self._access.credential(token.id, workspace_id)
        if row is not None:
            deadline = time.monotonic() + _TTL_S
            with self._lock:
                if len(self._tokens) > _MAX_ENTRIES or len(self._roles) > _MAX_ENTRIES:
                    self._tokens.clear()
                    self._roles.clear()
                self._tokens[token.id] = (deadline, gen, row)
                if workspace_id is not None:
                    self._roles[(row.principal.id, workspace_id)] = (deadline, gen, row.role)
        return row


def _with_role(row: CredentialRow, role: str | None) -> CredentialRow:
    if row.role == role:
        return row
    return CredentialRow(
        row.secret_hash, row.kind, row.name, row.expires_at, row.revoked_time, row.principal, role
    )


def parse(p: Presented) -> tok.Parsed:
    parsed = tok.parse(p.token)
    if parsed is None:
        raise Unauthenticated(INVALID)
    return parsed


__all__ = ["Authenticator", "Presented", "check", "parse", "presented"]
