"""A sliding-window limiter for the token endpoints (attempts per minute per key).

The attempts are rows in the database, so every replica of a server counts against the same
limit. Two replicas checking the same key at the same instant may each let one more attempt
through (at most one per replica): enough for its job, slowing secret guessing to a crawl.
"""

from __future__ import annotations

from collections.abc import Callable

from runyard.errors import RateLimited
from runyard.services.clock import now_ms
from runyard.store.sql import attempts as sql
from runyard.store.sql.engine import Database

WINDOW_MS = 60_000


class RateLimiter:
    def __init__(self, db: Database, per_minute: int, clock: Callable[[], int] = now_ms) -> None:
        self.per_minute = max(1, per_minute)
        self._db = db
        self._clock = clock

    def check(self, key: str) -> None:
        """Refuse if ``key`` is over the limit, without counting this call."""
        self._refuse_if_full(key, self._clock())

    def hit(self, key: str) -> None:
        """Count one attempt for ``key``; refuse (and do not count) when over the limit."""
        now = self._clock()
        self._refuse_if_full(key, now)
        self._db.write(lambda conn: sql.add(conn, key, now, now - WINDOW_MS))

    def _refuse_if_full(self, key: str, now: int) -> None:
        with self._db.read() as conn:
            count, oldest = sql.in_window(conn, key, now - WINDOW_MS)
        if count >= self.per_minute:
            assert oldest is not None
            wait_s = max(1, -(-(WINDOW_MS - (now - oldest)) // 1000))  # whole seconds, rounded up
            raise RateLimited(
                f"Too many token requests: at most {self.per_minute} a minute are allowed. "
                f"Try again in {wait_s} s."
            )


__all__ = ["WINDOW_MS", "RateLimiter"]
