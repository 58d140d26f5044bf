"""The audit log: who changed access, created tokens, deleted experiments or models.

Entries are written inside the same transaction as the change they describe, so the log
never claims a change that was rolled back. The actor of changes made by MLflow routes
(experiment and model deletion) is the caller of the current request, which the access
gate puts in ``current_actor``; services that change access pass it explicitly.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection

from runyard.entities import AuditEntry, Principal, Workspace
from runyard.services import validation as v
from runyard.services.clock import now_ms
from runyard.services.paging import Page
from runyard.store.sql import audit as sql
from runyard.store.sql.engine import Database

# Set per request by runyard.auth (the principal's name); "anonymous" with auth off.
# Read it in the request's thread (see record()).
current_actor: ContextVar[str] = ContextVar("runyard_actor", default="anonymous")

_MAX_TARGET = 512
_MAX_ACTOR = 256
_DEFAULT_PAGE = 100
_MAX_PAGE = 1000


def record(
    conn: Connection,
    workspace_id: int | None,
    action: str,
    target: str,
    details: dict[str, Any] | None = None,
    actor: str | None = None,
) -> None:
    """Append one entry (call it inside the change's own write transaction).

    Pass ``actor=current_actor.get()`` read *before* the transaction: on SQLite the
    transaction runs in the writer thread, which does not carry the request's context.
    """
    sql.insert_entry(
        conn,
        workspace_id,
        now_ms(),
        (actor or "runyard")[:_MAX_ACTOR],
        action,
        target[:_MAX_TARGET],
        json.dumps(details, sort_keys=True) if details else None,
    )


class AuditService:
    def __init__(self, db: Database) -> None:
        self._db = db

    def list(
        self, ws: Workspace, caller: Principal, max_results: int | None, page_token: str | None
    ) -> Page[AuditEntry]:
        """Newest first. Owners see their workspace; admins also see global entries."""
        from runyard.search.page_token import decode_page_token, encode_page_token

        limit = v.max_results(max_results, _DEFAULT_PAGE, _MAX_PAGE)
        include_global = caller.is_admin
        fingerprint = f"audit|{ws.id}|{include_global}"
        before = decode_page_token(page_token, fingerprint) if page_token else None
        with self._db.read() as conn:
            rows = sql.list_entries(conn, ws.id, include_global, before, limit + 1)
        token = encode_page_token(rows[limit - 1].id, fingerprint) if len(rows) > limit else None
        return Page(rows[:limit], token)


__all__ = ["AuditService", "current_actor", "record"]
