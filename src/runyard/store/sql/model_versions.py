"""SQL for model version changes: number allocation, insert, stage moves, soft delete, tags
and search, plus the read-only looks at runs and logged models that anchor a version's source.

Every statement is scoped by workspace_id. Loading versions lives in store/sql/registry.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, and_, delete, false, insert, select, update

from runyard.entities import ModelVersion
from runyard.search.ast import Filter, OrderBy
from runyard.store.sql.dialect import dialect_insert
from runyard.store.sql.registry import fill_versions, live_version, version_from_row
from runyard.store.sql.schema import (
    experiments,
    logged_models,
    model_version_tags,
    model_versions,
    registered_model_aliases,
    registered_models,
    runs,
)
from runyard.store.sql.search import select_model_version_keys

_rm, _mv, _mvt = registered_models.c, model_versions.c, model_version_tags.c


def allocate_version(conn: Connection, wid: int, name: str, now: int) -> int | None:
    """Take the model's next version number, or None if the model does not exist.

    One UPDATE ... RETURNING: PostgreSQL row-locks the model until commit, so concurrent
    creates on any number of replicas get consecutive numbers, and a rollback leaves no gap.
    """
    stmt = (
        update(registered_models)
        .where(_rm.workspace_id == wid, _rm.name == name)
        .values(last_version=_rm.last_version + 1, last_updated_time=now)
        .returning(_rm.last_version)
    )
    return conn.execute(stmt).scalar()


def insert_version(conn: Connection, wid: int, tags: dict[str, str | None], **values: Any) -> None:
    conn.execute(insert(model_versions).values(workspace_id=wid, deleted=False, **values))
    if tags:
        set_version_tags(conn, wid, values["name"], values["version"], tags)


def update_version(conn: Connection, wid: int, name: str, version: int, **values: object) -> int:
    return conn.execute(
        update(model_versions).where(live_version(wid, name, version)).values(**values)
    ).rowcount


def archive_stage(conn: Connection, wid: int, name: str, stage: str, keep: int, now: int) -> None:
    """Move every other live version in ``stage`` to Archived."""
    conn.execute(
        update(model_versions)
        .where(
            _mv.workspace_id == wid,
            _mv.name == name,
            _mv.current_stage == stage,
            _mv.version != keep,
            _mv.deleted == false(),
        )
        .values(current_stage="Archived", last_updated_time=now)
    )


def delete_version(conn: Connection, wid: int, name: str, version: int, now: int) -> int:
    """Soft-delete: the number stays taken, the row is redacted as MLflow does, and the
    version's tags and aliases go."""
    count = update_version(
        conn,
        wid,
        name,
        version,
        deleted=True,
        last_updated_time=now,
        description=None,
        user_id=None,
        source="REDACTED-SOURCE-PATH",
        run_id="REDACTED-RUN-ID",
        run_link="REDACTED-RUN-LINK",
        status_message=None,
    )
    if count:
        for table in (model_version_tags, registered_model_aliases):
            conn.execute(
                delete(table).where(
                    table.c.workspace_id == wid, table.c.name == name, table.c.version == version
                )
            )
    return count


def set_version_tags(
    conn: Connection, wid: int, name: str, version: int, tags: dict[str, str | None]
) -> None:
    stmt = dialect_insert(conn, model_version_tags)
    stmt = stmt.on_conflict_do_update(
        index_elements=["workspace_id", "name", "version", "key"], set_={"value": stmt.excluded.value}
    )
    rows = [
        {"workspace_id": wid, "name": name, "version": version, "key": k, "value": v} for k, v in tags.items()
    ]
    conn.execute(stmt, rows)


def delete_version_tag(conn: Connection, wid: int, name: str, version: int, key: str) -> int:
    stmt = delete(model_version_tags).where(
        _mvt.workspace_id == wid, _mvt.name == name, _mvt.version == version, _mvt.key == key
    )
    return conn.execute(stmt).rowcount


def search_versions(
    conn: Connection, wid: int, filter: Filter, order_by: Sequence[OrderBy], offset: int, limit: int
) -> list[ModelVersion]:
    stmt: Select[Any] = select_model_version_keys(wid, filter, order_by).with_only_columns(*model_versions.c)
    rows = conn.execute(stmt.offset(offset).limit(limit))
    return fill_versions(conn, wid, [version_from_row(r) for r in rows])


# -- where a version's files come from (read-only looks at tracking tables) -------------------


def run_artifact_uri(conn: Connection, wid: int, run_id: str) -> str | None:
    """The run's artifact root; runs created without one use MLflow's default layout."""
    stmt = (
        select(runs.c.artifact_uri, experiments.c.artifact_location)
        .select_from(runs)
        .outerjoin(
            experiments,
            and_(
                experiments.c.workspace_id == runs.c.workspace_id,
                experiments.c.experiment_id == runs.c.experiment_id,
            ),
        )
        .where(runs.c.workspace_id == wid, runs.c.run_uuid == run_id)
    )
    row = conn.execute(stmt).first()
    if row is None:
        return None
    if row.artifact_uri:
        return row.artifact_uri
    return f"{(row.artifact_location or '').rstrip('/')}/{run_id}/artifacts"


def logged_model(conn: Connection, wid: int, model_id: str) -> tuple[str, str | None] | None:
    """``(artifact_location, source_run_id)`` of a live logged model, or None."""
    stmt = select(logged_models.c.artifact_location, logged_models.c.source_run_id).where(
        logged_models.c.workspace_id == wid,
        logged_models.c.model_id == model_id,
        logged_models.c.lifecycle_stage != "deleted",
    )
    row = conn.execute(stmt).first()
    return (row[0], row[1]) if row else None


__all__ = [
    "allocate_version",
    "archive_stage",
    "delete_version",
    "delete_version_tag",
    "insert_version",
    "logged_model",
    "run_artifact_uri",
    "search_versions",
    "set_version_tags",
    "update_version",
]
