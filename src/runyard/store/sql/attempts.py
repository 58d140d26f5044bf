"""SQL for the token endpoint's rate limit: one row per counted attempt, kept one window."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, delete, func, insert, select

from runyard.store.sql.prepared import Prepared
from runyard.store.sql.schema import auth_attempts

_a = auth_attempts.c
_KEY, _SINCE = bindparam("key"), bindparam("since")
_IN_WINDOW = Prepared(
    lambda _d: select(func.count(), func.min(_a.time)).where(_a.key == _KEY, _a.time > _SINCE)
)
_ADD = Prepared(lambda _d: insert(auth_attempts).values(key=_KEY, time=bindparam("now")))
_EXPIRE = Prepared(lambda _d: delete(auth_attempts).where(_a.time <= _SINCE))


def in_window(conn: Connection, key: str, since: int) -> tuple[int, int | None]:
    """(attempts of ``key`` after ``since``, the time of the oldest of them)."""
    row = _IN_WINDOW.first(conn, key=key, since=since)
    assert row is not None
    return int(row[0]), row[1]


def add(conn: Connection, key: str, now: int, since: int) -> None:
    """Count one attempt, and forget every key's attempts from before the window."""
    _EXPIRE.run(conn, since=since)
    _ADD.run(conn, key=key, now=now)


__all__ = ["add", "in_window"]
