"""SQL for MLflow 3 logged models: the model rows, their params, tags and metrics.

Every statement is scoped by workspace_id. A page of models costs a fixed number of
queries (models, tags, params, metrics), never one per model.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from runyard.entities import LoggedModel, ModelMetric
from runyard.search.ast import Filter, OrderBy
from runyard.store.sql.dialect import dialect_insert
from runyard.store.sql.schema import (
    logged_model_metrics,
    logged_model_params,
    logged_model_tags,
    logged_models,
)
from runyard.store.sql.search import DatasetRef, select_logged_model_ids

_lm = logged_models.c
_metric = logged_model_metrics.c

# Fields a caller of insert_model_metrics must supply per row (dataset_* may be None).
METRIC_ROW_FIELDS = (
    "model_id",
    "metric_name",
    "metric_value",
    "metric_timestamp_ms",
    "metric_step",
    "run_id",
    "dataset_name",
    "dataset_digest",
)


# -- reads -------------------------------------------------------------------------------


def load_many(conn: Connection, wid: int, ids: Sequence[str]) -> list[LoggedModel]:
    """Models with these ids (any lifecycle stage), with tags, params and metrics, in order."""
    if not ids:
        return []
    rows = conn.execute(select(logged_models).where(_lm.workspace_id == wid, _lm.model_id.in_(ids))).all()
    found = {
        r.model_id: LoggedModel(
            model_id=r.model_id,
            experiment_id=r.experiment_id,
            name=r.name,
            artifact_location=r.artifact_location,
            creation_timestamp=r.creation_timestamp_ms,
            last_updated_timestamp=r.last_updated_timestamp_ms,
            status=r.status,
            lifecycle_stage=r.lifecycle_stage,
            model_type=r.model_type,
            source_run_id=r.source_run_id,
            status_message=r.status_message,
        )
        for r in rows
    }
    if not found:
        return []
    keys = list(found)
    for table, attr in ((logged_model_tags, "tags"), (logged_model_params, "params")):
        stmt = select(table.c.model_id, table.c.key, table.c.value).where(
            table.c.workspace_id == wid, table.c.model_id.in_(keys)
        )
        for model_id, key, value in conn.execute(stmt):
            getattr(found[model_id], attr)[key] = value
    stmt = (
        select(logged_model_metrics)
        .where(_metric.workspace_id == wid, _metric.model_id.in_(keys))
        .order_by(_metric.metric_name, _metric.metric_timestamp_ms, _metric.metric_step)
    )
    for m in conn.execute(stmt):
        found[m.model_id].metrics.append(
            ModelMetric(
                key=m.metric_name,
                # NaN is stored as NULL: SQLite cannot hold a NaN REAL.
                value=math.nan if m.metric_value is None else m.metric_value,
                timestamp=m.metric_timestamp_ms,
                step=m.metric_step,
                run_id=m.run_id,
                model_id=m.model_id,
                dataset_name=m.dataset_name,
                dataset_digest=m.dataset_digest,
            )
        )
    return [found[i] for i in ids if i in found]


def get(conn: Connection, wid: int, model_id: str) -> LoggedModel | None:
    found = load_many(conn, wid, [model_id])
    return found[0] if found else None


def experiment_of(conn: Connection, wid: int, model_id: str) -> int | None:
    """The model's experiment id if the model exists in this workspace (any stage)."""
    stmt = select(_lm.experiment_id).where(_lm.workspace_id == wid, _lm.model_id == model_id)
    return conn.execute(stmt).scalar()


def search_ids(
    conn: Connection,
    wid: int,
    experiment_ids: Iterable[int],
    filter: Filter,
    order_by: Sequence[OrderBy],
    datasets: Sequence[DatasetRef],
    offset: int,
    limit: int,
) -> list[str]:
    stmt = select_logged_model_ids(wid, experiment_ids, filter, order_by, datasets)
    return list(conn.execute(stmt.offset(offset).limit(limit)).scalars())


def params_of(conn: Connection, wid: int, model_id: str, keys: Iterable[str]) -> dict[str, str]:
    stmt = select(logged_model_params.c.key, logged_model_params.c.value).where(
        logged_model_params.c.workspace_id == wid,
        logged_model_params.c.model_id == model_id,
        logged_model_params.c.key.in_(list(keys)),
    )
    return dict(conn.execute(stmt).tuples().all())


# -- writes ------------------------------------------------------------------------------


def insert_model(
    conn: Connection,
    wid: int,
    model: LoggedModel,
) -> None:
    """Insert the model row with its params and tags."""
    conn.execute(
        insert(logged_models).values(
            model_id=model.model_id,
            workspace_id=wid,
            experiment_id=model.experiment_id,
            name=model.name,
            artifact_location=model.artifact_location,
            creation_timestamp_ms=model.creation_timestamp,
            last_updated_timestamp_ms=model.last_updated_timestamp,
            status=model.status,
            lifecycle_stage=model.lifecycle_stage,
            model_type=model.model_type,
            source_run_id=model.source_run_id,
            status_message=model.status_message,
        )
    )
    insert_params(conn, wid, model.model_id, model.params)
    set_tags(conn, wid, model.model_id, model.tags)


def insert_params(conn: Connection, wid: int, model_id: str, params: Mapping[str, str]) -> None:
    """Add params; a key that is already there with the same value is left alone."""
    if not params:
        return
    rows = [{"workspace_id": wid, "model_id": model_id, "key": k, "value": v} for k, v in params.items()]
    conn.execute(dialect_insert(conn, logged_model_params).on_conflict_do_nothing(), rows)


def set_tags(conn: Connection, wid: int, model_id: str, tags: Mapping[str, str | None]) -> None:
    if not tags:
        return
    stmt = dialect_insert(conn, logged_model_tags)
    stmt = stmt.on_conflict_do_update(index_elements=["model_id", "key"], set_={"value": stmt.excluded.value})
    conn.execute(
        stmt, [{"workspace_id": wid, "model_id": model_id, "key": k, "value": v} for k, v in tags.items()]
    )


def delete_tag(conn: Connection, wid: int, model_id: str, key: str) -> int:
    t = logged_model_tags.c
    return conn.execute(
        delete(logged_model_tags).where(t.workspace_id == wid, t.model_id == model_id, t.key == key)
    ).rowcount


def update_fields(conn: Connection, wid: int, model_id: str, **values: Any) -> int:
    return conn.execute(
        update(logged_models).where(_lm.workspace_id == wid, _lm.model_id == model_id).values(**values)
    ).rowcount


def insert_model_metrics(conn: Connection, workspace_id: int, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Record metrics logged against logged models (``runs/log-metric`` / ``log-batch`` with a model_id).

    Each row is a mapping with the keys in ``METRIC_ROW_FIELDS``. Rows for models that do
    not exist in this workspace are not written; their model ids are returned (sorted, no
    repeats) so the caller can refuse the request inside the same transaction. Re-logging a
    metric with the same (model, name, timestamp, step, run) is a no-op, as in MLflow.
    NaN values are stored as NULL.
    """
    if not rows:
        return []
    wanted = {r["model_id"] for r in rows}
    stmt = select(_lm.model_id).where(_lm.workspace_id == workspace_id, _lm.model_id.in_(wanted))
    known = set(conn.execute(stmt).scalars())
    values = []
    for r in rows:
        if r["model_id"] not in known:
            continue
        value = float(r["metric_value"])
        values.append(
            {
                "workspace_id": workspace_id,
                "model_id": r["model_id"],
                "metric_name": r["metric_name"],
                "metric_value": None if math.isnan(value) else value,
                "metric_timestamp_ms": r["metric_timestamp_ms"],
                "metric_step": r["metric_step"],
                "run_id": r["run_id"],
                "dataset_uuid": r.get("dataset_uuid"),
                "dataset_name": r.get("dataset_name"),
                "dataset_digest": r.get("dataset_digest"),
            }
        )
    if values:
        conn.execute(dialect_insert(conn, logged_model_metrics).on_conflict_do_nothing(), values)
    return sorted(wanted - known)


__all__ = [
    "METRIC_ROW_FIELDS",
    "LoggedModel",
    "ModelMetric",
    "delete_tag",
    "experiment_of",
    "get",
    "insert_model",
    "insert_model_metrics",
    "insert_params",
    "load_many",
    "params_of",
    "search_ids",
    "set_tags",
    "update_fields",
]
