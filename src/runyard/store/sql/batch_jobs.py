"""SQL for batch jobs: insert, read (by workspace), page, and the state changes a runner makes.

Every state change is a conditional UPDATE on the current status, so a cancel and a runner's
"succeeded" racing each other (on any number of replicas) cannot both win.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from sqlalchemy import Connection, select, update

from runyard.entities import BatchJob
from runyard.store.sql.schema import batch_jobs, workspaces

_b = batch_jobs.c

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
ACTIVE = (QUEUED, RUNNING)


_COLS = [getattr(_b, f.name) for f in fields(BatchJob)]


def _job(r: Any) -> BatchJob:
    return BatchJob(*r)


def insert_job(conn: Connection, job: BatchJob) -> None:
    conn.execute(batch_jobs.insert().values(**{f.name: getattr(job, f.name) for f in fields(BatchJob)}))


def get_job(conn: Connection, workspace_id: int, job_id: str) -> BatchJob | None:
    r = conn.execute(select(*_COLS).where(_b.workspace_id == workspace_id, _b.id == job_id)).first()
    return _job(r) if r else None


def get_any(conn: Connection, job_id: str) -> BatchJob | None:
    """For the runner, which works for every workspace."""
    r = conn.execute(select(*_COLS).where(_b.id == job_id)).first()
    return _job(r) if r else None


def list_jobs(
    conn: Connection, workspace_id: int, statuses: tuple[str, ...] | None, offset: int, limit: int
) -> list[BatchJob]:
    stmt = select(*_COLS).where(_b.workspace_id == workspace_id)
    if statuses:
        stmt = stmt.where(_b.status.in_(statuses))
    # Newest first; the id breaks ties so offset paging is stable.
    stmt = stmt.order_by(_b.creation_time.desc(), _b.id.desc()).offset(offset).limit(limit)
    return [_job(r) for r in conn.execute(stmt)]


def oldest_queued(conn: Connection, limit: int) -> list[str]:
    stmt = select(_b.id).where(_b.status == QUEUED).order_by(_b.creation_time, _b.id).limit(limit)
    return [r[0] for r in conn.execute(stmt)]


def claim(conn: Connection, job_id: str, runner: str, now: int) -> bool:
    """queued → running for ``runner``; False when another runner (or a cancel) got there first."""
    result = conn.execute(
        update(batch_jobs)
        .where(_b.id == job_id, _b.status == QUEUED)
        .values(status=RUNNING, runner=runner, start_time=now, heartbeat_time=now, message=None)
    )
    return result.rowcount == 1


def heartbeat(
    conn: Connection, job_id: str, runner: str, now: int, tasks_done: int | None, tasks_total: int | None
) -> str | None:
    """Record that ``runner`` still runs the job (and its progress); returns the job's status now.

    A status other than running (a cancel) tells the runner to stop the child process.
    """
    values: dict[str, Any] = {"heartbeat_time": now}
    if tasks_total is not None:
        values.update(tasks_done=tasks_done, tasks_total=tasks_total)
    conn.execute(
        update(batch_jobs).where(_b.id == job_id, _b.runner == runner, _b.status == RUNNING).values(**values)
    )
    return conn.execute(select(_b.status).where(_b.id == job_id)).scalar()


def finish(
    conn: Connection,
    job_id: str,
    from_statuses: tuple[str, ...],
    status: str,
    now: int,
    message: str | None,
    row_count: int | None = None,
    runner: str | None = None,
) -> bool:
    """Move the job to a final status if it is still in one of ``from_statuses``."""
    stmt = update(batch_jobs).where(_b.id == job_id, _b.status.in_(from_statuses))
    if runner is not None:
        stmt = stmt.where(_b.runner == runner)
    values: dict[str, Any] = {"status": status, "end_time": now, "message": message}
    if row_count is not None:
        values["row_count"] = row_count
    return conn.execute(stmt.values(**values)).rowcount == 1


def workspace_name(conn: Connection, workspace_id: int) -> str | None:
    return conn.execute(select(workspaces.c.name).where(workspaces.c.id == workspace_id)).scalar()


def running(conn: Connection) -> list[BatchJob]:
    return [_job(r) for r in conn.execute(select(*_COLS).where(_b.status == RUNNING))]


__all__ = [
    "ACTIVE",
    "CANCELLED",
    "FAILED",
    "QUEUED",
    "RUNNING",
    "STATUSES",
    "SUCCEEDED",
    "BatchJob",
    "claim",
    "finish",
    "get_any",
    "get_job",
    "heartbeat",
    "insert_job",
    "list_jobs",
    "oldest_queued",
    "running",
    "workspace_name",
]
