"""The token endpoint's limiter: N attempts a minute per key, then 429 until the window moves.

The attempts live in the database, so two servers on one database (two replicas) share the
limit; checked on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from runyard.errors import RateLimited
from runyard.services.ratelimit import RateLimiter
from runyard.store.sql.engine import Database
from runyard.store.sql.migrate import ensure_schema
from tests.support.pg import postgres_database


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            yield f"sqlite:///{tmp_path / 'limit.db'}"
        else:
            yield stack.enter_context(postgres_database("runyard_ratelimit"))


@pytest.fixture
def replicas(url: str) -> Iterator[tuple[Database, Database]]:
    """Two Database objects on one database, as two server replicas would hold."""
    first = Database(url)
    ensure_schema(first)
    second = Database(url)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def test_limit_per_key_and_window(replicas):
    db, _ = replicas
    clock = Clock()
    limiter = RateLimiter(db, 3, clock=clock)
    for _ in range(3):
        limiter.hit("client:a")
    with pytest.raises(RateLimited) as err:
        limiter.hit("client:a")
    assert err.value.error_code == "REQUEST_LIMIT_EXCEEDED" and err.value.http_status == 429
    assert "at most 3 a minute" in err.value.message and "Try again in 60 s" in err.value.message
    limiter.hit("client:b")  # other keys are not affected
    clock.now += 59_000
    with pytest.raises(RateLimited, match="Try again in 1 s"):
        limiter.check("client:a")
    clock.now += 1_500
    limiter.hit("client:a")  # the oldest attempts left the window


def test_check_does_not_count(replicas):
    db, _ = replicas
    limiter = RateLimiter(db, 1, clock=Clock())
    for _ in range(10):
        limiter.check("addr:1.2.3.4")
    limiter.hit("addr:1.2.3.4")
    with pytest.raises(RateLimited):
        limiter.check("addr:1.2.3.4")


def test_replicas_share_one_limit(replicas):
    clock = Clock()
    on_a, on_b = (RateLimiter(db, 4, clock=clock) for db in replicas)
    on_a.hit("client:x")
    on_b.hit("client:x")
    on_a.hit("client:x")
    on_b.hit("client:x")
    # Four attempts in all, two through each replica: both now refuse.
    for limiter in (on_a, on_b):
        with pytest.raises(RateLimited):
            limiter.hit("client:x")


def test_old_attempts_are_forgotten(replicas):
    db, _ = replicas
    clock = Clock()
    limiter = RateLimiter(db, 100, clock=clock)
    for i in range(50):
        limiter.hit(f"addr:10.0.0.{i}")
    clock.now += 61_000
    limiter.hit("addr:10.0.0.1")
    with db.read() as conn:
        (left,) = conn.exec_driver_sql("SELECT count(*) FROM auth_attempts").one()
    assert left == 1
