"""Cheap liveness checks for pooled PostgreSQL connections.

SQLAlchemy's ``pool_pre_ping`` sends an empty statement to the server every time a
connection leaves the pool: one more round trip on every request, about as dear as the
BEGIN or COMMIT around it. Instead, a connection leaving the pool is checked locally: a
connection the server has closed (a restart, ``idle_session_timeout``, a killed backend)
has data or end-of-file waiting on its socket, while a healthy idle one has nothing to
read. Only a connection idle for longer than ``PING_AFTER_S`` (when a silent network
failure becomes plausible) is still pinged. A failed check makes the pool replace the
connection before anyone uses it.
"""

from __future__ import annotations

import select
import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

PING_AFTER_S = 30.0
_LAST_USED = "runyard_last_used"


def _readable(dbapi_conn: Any) -> bool:
    try:
        fd = dbapi_conn.fileno()
    except Exception:  # noqa: BLE001 - a closed psycopg connection raises on fileno()
        return True
    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)


def install(engine: Engine) -> None:
    """Check every connection ``engine``'s pool hands out (use without ``pool_pre_ping``)."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if getattr(dbapi_conn, "closed", False) or _readable(dbapi_conn):
            raise DisconnectionError("the server closed this pooled connection")
        last = record.info.get(_LAST_USED)
        if last is not None and time.monotonic() - last > PING_AFTER_S:
            try:
                dialect.do_ping(dbapi_conn)
            except Exception as exc:  # noqa: BLE001 - any failure means: use another connection
                raise DisconnectionError(f"ping failed: {exc}") from exc


__all__ = ["PING_AFTER_S", "install"]
