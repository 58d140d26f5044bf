"""SQL for the audit log: append, list newest first (keyset paging), forget a workspace."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, or_, select

from runyard.entities import AuditEntry
from runyard.store.sql.schema import audit_log, workspaces

_a = audit_log.c


def insert_entry(
    conn: Connection,
    workspace_id: int | None,
    time: int,
    actor: str,
    action: str,
    target: str,
    details: str | None,
) -> None:
    conn.execute(
        insert(audit_log).values(
            workspace_id=workspace_id, time=time, actor=actor, action=action, target=target, details=details
        )
    )


def list_entries(
    conn: Connection, workspace_id: int, include_global: bool, before_id: int | None, limit: int
) -> list[AuditEntry]:
    scope = _a.workspace_id == workspace_id
    if include_global:
        scope = or_(scope, _a.workspace_id.is_(None))
    stmt = (
        select(_a.id, _a.time, workspaces.c.name, _a.actor, _a.action, _a.target, _a.details)
        .select_from(audit_log.outerjoin(workspaces, workspaces.c.id == _a.workspace_id))
        .where(scope)
        .order_by(_a.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        stmt = stmt.where(_a.id < before_id)
    return [AuditEntry(*r) for r in conn.execute(stmt)]


def forget_workspace(conn: Connection, workspace_id: int) -> None:
    conn.execute(delete(audit_log).where(_a.workspace_id == workspace_id))
