"""Metric history pages: keyset page tokens, and one page read chunk by chunk so that its size
never shows in the server's memory."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterator

from runyard.search import SearchSyntaxError
from runyard.store.sql import metrics as metrics_sql
from runyard.store.sql.engine import Database
from runyard.store.sql.metrics import Position, StoredPoint

# Rows per fetch from the database cursor (and per chunk handed to the HTTP layer).
CHUNK = 10_000
_VERSION = 1
_MAX_TOKEN_CHARS = 512


def _check(body: str) -> str:
    return hashlib.sha256(f"runyard-history:{body}".encode()).hexdigest()[:12]


def encode_position(position: Position, fingerprint: str) -> str:
    """A token resuming the history after ``position`` (not an offset: the next page starts
    straight at that index entry however deep into the history it is)."""
    query = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    body = json.dumps([_VERSION, list(position), query], separators=(",", ":"))
    raw = json.dumps({"p": body, "c": _check(body)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_position(token: str | None, fingerprint: str) -> Position | None:
    """The position a token resumes after; None (first page) for no token."""
    if not token:
        return None
    invalid = SearchSyntaxError("Invalid page token: it is not a token this server issued")
    if len(token) > _MAX_TOKEN_CHARS:
        raise invalid
    try:
        outer = json.loads(base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True))
        body, check = outer["p"], outer["c"]
        version, position, query = json.loads(body)
        ts, step, value, is_nan = position
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise invalid from None
    if check != _check(body) or version != _VERSION:
        raise SearchSyntaxError("Invalid page token: it has been altered")
    if query != hashlib.sha256(fingerprint.encode()).hexdigest()[:16]:
        raise SearchSyntaxError(
            "Invalid page token: it belongs to another run or metric; repeat the call without page_token"
        )
    if not (isinstance(ts, int) and isinstance(step, int) and isinstance(is_nan, bool)):
        raise invalid
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid
    return (ts, step, float(value), is_nan)


class HistoryStream:
    """Iterate to get lists of stored points (value, timestamp, step, is_nan) in history order.

    ``next_page_token`` is known once iteration has finished: with ``max_results`` one extra
    row is read, and if it exists the page ends before it and the token points past its end.
    """

    def __init__(
        self,
        db: Database,
        wid: int,
        run_id: str,
        key: str,
        after: Position | None,
        max_results: int | None,
        fingerprint: str,
    ) -> None:
        self.key = key
        self.next_page_token: str | None = None
        self._db, self._wid, self._run_id = db, wid, run_id
        self._after, self._max, self._fingerprint = after, max_results, fingerprint

    def __iter__(self) -> Iterator[list[StoredPoint]]:
        limit = None if self._max is None else self._max + 1
        left = self._max
        last: StoredPoint | None = None
        with self._db.read() as conn:
            for chunk in metrics_sql.history_chunks(
                conn, self._wid, self._run_id, self.key, self._after, limit, CHUNK
            ):
                if left is not None:
                    if len(chunk) > left:
                        chunk = chunk[:left]
                        if chunk or last is not None:
                            end = chunk[-1] if chunk else last
                            assert end is not None
                            self.next_page_token = encode_position(
                                metrics_sql.position(end), self._fingerprint
                            )
                    left -= len(chunk)
                if chunk:
                    last = chunk[-1]
                    yield chunk
