"""Token strings: minting, parsing and hashing.

A token reads ``ryd_pat_<id>_<secret>`` (personal access token) or ``ryd_at_<id>_<secret>``
(short-lived access token). The id finds the row; only a SHA-256 of the 256-bit secret is
stored (a fast hash is enough for a secret with that much entropy) and it is compared in
constant time. Device codes and user codes for the device sign-in are made here too.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

PAT_PREFIX = "ryd_pat_"
ACCESS_PREFIX = "ryd_at_"
CLIENT_ID_PREFIX = "ryd_sp_"
CLIENT_SECRET_PREFIX = "ryd_sps_"
_PREFIXES = {PAT_PREFIX: "pat", ACCESS_PREFIX: "access"}
_ID_CHARS = frozenset("0123456789abcdef")
_ID_LEN = 16
# RFC 8628 suggests consonants only: no vowels means no words, and no 0/O or 1/I mix-ups.
_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
_USER_CODE_LEN = 8


@dataclass(frozen=True)
class Minted:
    id: str
    token: str  # the whole string handed to the caller, once
    secret_hash: str


@dataclass(frozen=True)
class Parsed:
    family: str  # "pat" | "access"
    id: str
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def mint(family: str) -> Minted:
    prefix = PAT_PREFIX if family == "pat" else ACCESS_PREFIX
    token_id = secrets.token_hex(_ID_LEN // 2)
    secret = secrets.token_urlsafe(32)
    return Minted(token_id, f"{prefix}{token_id}_{secret}", hash_secret(secret))


def parse(token: str) -> Parsed | None:
    """Split a token string; None when it is not shaped like one of ours."""
    for prefix, family in _PREFIXES.items():
        if token.startswith(prefix):
            token_id, sep, secret = token[len(prefix) :].partition("_")
            if sep and len(token_id) == _ID_LEN and set(token_id) <= _ID_CHARS and secret:
                return Parsed(family, token_id, secret)
            return None
    return None


def new_client_credentials() -> tuple[str, str]:
    """A service principal's client id (public) and secret (shown once, stored with argon2)."""
    return CLIENT_ID_PREFIX + secrets.token_hex(12), CLIENT_SECRET_PREFIX + secrets.token_urlsafe(32)


def new_device_code() -> str:
    return secrets.token_urlsafe(32)


def new_user_code() -> str:
    """Eight consonants, shown as ``WDJB-MJHT`` and stored without the dash."""
    return "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(_USER_CODE_LEN))


def normalize_user_code(code: str) -> str:
    """What a person typed → the stored form: upper case, no dashes or spaces."""
    return "".join(c for c in code.upper() if c.isalnum())


def format_user_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


__all__ = [
    "ACCESS_PREFIX",
    "PAT_PREFIX",
    "Minted",
    "Parsed",
    "format_user_code",
    "hash_secret",
    "mint",
    "new_client_credentials",
    "new_device_code",
    "new_user_code",
    "normalize_user_code",
    "parse",
    "secret_matches",
]
