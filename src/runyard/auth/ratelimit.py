"""A sliding-window limiter for the token endpoints (attempts per minute per key).

Kept in process memory: each replica enforces the limit on its own, so N replicas allow N
times the rate. That is enough for its job, slowing secret guessing to a crawl.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from runyard.errors import RateLimited

_WINDOW_S = 60.0
_MAX_KEYS = 10_000


class RateLimiter:
    def __init__(self, per_minute: int, clock=time.monotonic) -> None:  # noqa: ANN001
        self.per_minute = max(1, per_minute)
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Refuse if ``key`` is over the limit, without counting this call."""
        with self._lock:
            self._refuse_if_full(key, self._clock())

    def hit(self, key: str) -> None:
        """Count one attempt for ``key``; refuse (and do not count) when over the limit."""
        now = self._clock()
        with self._lock:
            hits = self._refuse_if_full(key, now)
            if hits is None:
                if len(self._hits) >= _MAX_KEYS:
                    self._prune(now)
                hits = self._hits[key] = deque()
            hits.append(now)

    def _refuse_if_full(self, key: str, now: float) -> deque[float] | None:
        hits = self._hits.get(key)
        if hits is None:
            return None
        while hits and now - hits[0] >= _WINDOW_S:
            hits.popleft()
        if len(hits) >= self.per_minute:
            wait = int(_WINDOW_S - (now - hits[0])) + 1
            raise RateLimited(
                f"Too many token requests: at most {self.per_minute} a minute are allowed. "
                f"Try again in {wait} s."
            )
        return hits

    def _prune(self, now: float) -> None:
        for key in [k for k, h in self._hits.items() if not h or now - h[-1] >= _WINDOW_S]:
            del self._hits[key]


__all__ = ["RateLimiter"]
