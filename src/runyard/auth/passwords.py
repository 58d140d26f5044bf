"""Argon2id for low-volume, high-value secrets (service principal client secrets).

Verifying costs tens of milliseconds and 64 MiB on purpose; it only runs at the token
endpoint, which is rate limited. Unknown client ids still pay for one verification so the
response time does not tell which client ids exist.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("runyard-dummy-secret")


def hash_password(secret: str) -> str:
    return _hasher.hash(secret)


def verify_password(stored_hash: str | None, secret: str) -> bool:
    """Constant-work check; ``stored_hash=None`` (unknown client) burns the same time and fails."""
    try:
        ok = _hasher.verify(stored_hash or _DUMMY, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and stored_hash is not None


__all__ = ["hash_password", "verify_password"]
