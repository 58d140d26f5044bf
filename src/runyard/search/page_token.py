"""Opaque page tokens: base64url JSON holding an offset and a digest of the query.

A token only resumes the query that produced it: reusing it with another filter, order or
experiment list fails loudly instead of silently skipping rows. The checksum is not a
secret-keyed MAC (an offset reveals nothing worth protecting); it catches truncated,
hand-edited or foreign tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from runyard.search.errors import SearchSyntaxError

_VERSION = 1
_MAX_TOKEN_CHARS = 512  # ours are ~90; anything far longer is not one of ours


def query_fingerprint(*parts: object) -> str:
    """A stable digest of whatever defines a query, e.g. ``(experiment_ids, filter, order_by)``.

    Parts must be JSON-serialisable (sequences, mappings, str, numbers, None); ``str()`` is
    used as a fallback so enums and the like work too.
    """
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def encode_page_token(offset: int, fingerprint: str) -> str:
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset must be a non-negative int, got {offset!r}")
    query = _digest(fingerprint)
    body = {"v": _VERSION, "o": offset, "q": query, "c": _check(offset, query)}
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str | None, fingerprint: str) -> int:
    """Return the offset stored in ``token``; ``None`` or ``""`` means the first page."""
    if not token:
        return 0
    if not isinstance(token, str) or len(token) > _MAX_TOKEN_CHARS:
        raise _invalid("it is not a token this server issued")
    try:
        padded = token + "=" * (-len(token) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True)
        body = json.loads(raw)
    except (binascii.Error, ValueError):
        raise _invalid("it is not a token this server issued") from None
    if not isinstance(body, dict) or body.get("v") != _VERSION:
        raise _invalid("it is not a token this server issued")
    offset, query, check = body.get("o"), body.get("q"), body.get("c")
    if (
        isinstance(offset, bool)
        or not isinstance(offset, int)
        or offset < 0
        or not isinstance(query, str)
        or check != _check(offset, query)
    ):
        raise _invalid("it has been altered")
    if query != _digest(fingerprint):
        raise _invalid(
            "it belongs to a different query (filter, order_by or scope changed); "
            "repeat the search without page_token"
        )
    return offset


def _digest(fingerprint: str) -> str:
    return hashlib.sha256(fingerprint.encode()).hexdigest()[:16]


def _check(offset: int, query: str) -> str:
    return hashlib.sha256(f"runyard-page:{_VERSION}:{offset}:{query}".encode()).hexdigest()[:12]


def _invalid(reason: str) -> SearchSyntaxError:
    return SearchSyntaxError(f"Invalid page token: {reason}")


__all__ = ["decode_page_token", "encode_page_token", "query_fingerprint"]
