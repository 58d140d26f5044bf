"""The token endpoint's limiter: N attempts a minute per key, then 429 until the window moves."""

from __future__ import annotations

import pytest

from runyard.auth.ratelimit import RateLimiter
from runyard.errors import RateLimited


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limit_per_key_and_window():
    clock = Clock()
    limiter = RateLimiter(3, clock=clock)
    for _ in range(3):
        limiter.hit("client:a")
    with pytest.raises(RateLimited) as err:
        limiter.hit("client:a")
    assert err.value.error_code == "REQUEST_LIMIT_EXCEEDED" and err.value.http_status == 429
    limiter.hit("client:b")  # other keys are not affected
    clock.now += 59
    with pytest.raises(RateLimited):
        limiter.check("client:a")
    clock.now += 1.5
    limiter.hit("client:a")  # the oldest attempt left the window


def test_check_does_not_count():
    limiter = RateLimiter(1, clock=Clock())
    for _ in range(10):
        limiter.check("addr:1.2.3.4")
    limiter.hit("addr:1.2.3.4")
    with pytest.raises(RateLimited):
        limiter.check("addr:1.2.3.4")
