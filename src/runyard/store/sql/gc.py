"""SQL for garbage collection: find deleted runs, experiments and logged models past their
retention, and remove them with every row that hangs off them. The rules live in
``maintenance/gc.py``; every delete here re-checks "still deleted" so a restore wins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, or_, select

from runyard.store.sql.dialect import in_ids
from runyard.store.sql.inputs import DATASET, MODEL_INPUT, MODEL_OUTPUT, RUN, RUN_INPUT, RUN_OUTPUT
from runyard.store.sql.schema import (
    datasets,
    experiment_tags,
    experiments,
    input_tags,
    inputs,
    latest_metrics,
    logged_model_metrics,
    logged_model_params,
    logged_model_tags,
    logged_models,
    metrics,
    model_versions,
    params,
    runs,
    tags,
)

DELETED = "deleted"


@dataclass(frozen=True)
class RunRow:
    run_id: str
    workspace_id: int
    experiment_id: int
    artifact_uri: str | None


@dataclass(frozen=True)
class ModelRow:
    model_id: str
    workspace_id: int
    experiment_id: int
    artifact_location: str | None


@dataclass(frozen=True)
class ExperimentRow:
    workspace_id: int
    experiment_id: int
    name: str
    artifact_location: str | None


@dataclass(frozen=True)
class Filters:
    """Which deleted things gc looks at. ``cutoff`` None means "any age"."""

    cutoff: int | None
    workspace_id: int | None = None
    run_ids: tuple[str, ...] | None = None
    experiment_ids: tuple[int, ...] | None = None


def _scoped(stmt: Any, wid_col: Any, wid: int | None) -> Any:
    return stmt if wid is None else stmt.where(wid_col == wid)


def deleted_experiments(conn: Connection, f: Filters) -> list[ExperimentRow]:
    e = experiments.c
    # Experiments keep no deleted_time: their last update is the delete (as in MLflow's gc).
    stmt = select(e.workspace_id, e.experiment_id, e.name, e.artifact_location).where(
        e.lifecycle_stage == DELETED
    )
    stmt = _scoped(stmt, e.workspace_id, f.workspace_id)
    if f.cutoff is not None:
        stmt = stmt.where(e.last_update_time <= f.cutoff)
    if f.experiment_ids is not None:
        stmt = stmt.where(in_ids(conn, e.experiment_id, list(f.experiment_ids)))
    return [ExperimentRow(*r) for r in conn.execute(stmt.order_by(e.workspace_id, e.experiment_id))]


def experiment_states(conn: Connection, wid: int | None, ids: Sequence[int]) -> dict[int, str]:
    e = experiments.c
    stmt = _scoped(select(e.experiment_id, e.lifecycle_stage), e.workspace_id, wid)
    return dict(conn.execute(stmt.where(in_ids(conn, e.experiment_id, list(ids)))).all())


def runs_of_experiments(conn: Connection, exps: Sequence[ExperimentRow]) -> list[RunRow]:
    r = runs.c
    out: list[RunRow] = []
    for exp in exps:
        stmt = select(r.run_uuid, r.workspace_id, r.experiment_id, r.artifact_uri).where(
            r.workspace_id == exp.workspace_id, r.experiment_id == exp.experiment_id
        )
        out.extend(RunRow(*row) for row in conn.execute(stmt.order_by(r.run_uuid)))
    return out


def deleted_runs(conn: Connection, f: Filters) -> list[RunRow]:
    r = runs.c
    stmt = select(r.run_uuid, r.workspace_id, r.experiment_id, r.artifact_uri).where(
        r.lifecycle_stage == DELETED
    )
    stmt = _scoped(stmt, r.workspace_id, f.workspace_id)
    if f.cutoff is not None:
        stmt = stmt.where(r.deleted_time <= f.cutoff)
    if f.run_ids is not None:
        stmt = stmt.where(in_ids(conn, r.run_uuid, list(f.run_ids)))
    return [RunRow(*row) for row in conn.execute(stmt.order_by(r.run_uuid))]


def run_states(
    conn: Connection, wid: int | None, run_ids: Sequence[str]
) -> dict[str, tuple[str, int | None]]:
    """run id -> (lifecycle_stage, deleted_time) for the runs that exist."""
    r = runs.c
    stmt = _scoped(select(r.run_uuid, r.lifecycle_stage, r.deleted_time), r.workspace_id, wid)
    return {k: (s, t) for k, s, t in conn.execute(stmt.where(in_ids(conn, r.run_uuid, list(run_ids))))}


def _model_select() -> Any:
    m = logged_models.c
    return select(m.model_id, m.workspace_id, m.experiment_id, m.artifact_location)


def deleted_models(conn: Connection, f: Filters) -> list[ModelRow]:
    m = logged_models.c
    stmt = _scoped(_model_select().where(m.lifecycle_stage == DELETED), m.workspace_id, f.workspace_id)
    if f.cutoff is not None:
        stmt = stmt.where(m.last_updated_timestamp_ms <= f.cutoff)
    if f.experiment_ids is not None:
        stmt = stmt.where(in_ids(conn, m.experiment_id, list(f.experiment_ids)))
    return [ModelRow(*row) for row in conn.execute(stmt.order_by(m.model_id))]


def models_of_experiments(conn: Connection, exps: Sequence[ExperimentRow]) -> list[ModelRow]:
    m = logged_models.c
    out: list[ModelRow] = []
    for exp in exps:
        stmt = _model_select().where(m.workspace_id == exp.workspace_id, m.experiment_id == exp.experiment_id)
        out.extend(ModelRow(*row) for row in conn.execute(stmt.order_by(m.model_id)))
    return out


def referenced_by_versions(
    conn: Connection, run_ids: Sequence[str], model_ids: Sequence[str]
) -> tuple[set[str], set[str]]:
    """Which runs and logged models live (not deleted) registered model versions still use."""
    v = model_versions.c
    live = v.deleted.is_(False)
    used_runs: set[str] = set()
    used_models: set[str] = set()
    for i in range(0, len(run_ids), 5000):
        batch = list(run_ids[i : i + 5000])
        used_runs.update(conn.execute(select(v.run_id).where(live, in_ids(conn, v.run_id, batch))).scalars())
    for i in range(0, len(model_ids), 5000):
        batch = list(model_ids[i : i + 5000])
        used_models.update(
            conn.execute(select(v.model_id).where(live, in_ids(conn, v.model_id, batch))).scalars()
        )
    return used_runs, used_models


# -- deletes (one batch per transaction) ---------------------------------------------------


def _delete_inputs(conn: Connection, where: Any) -> None:
    i = inputs.c
    ids = list(conn.execute(select(i.input_uuid).where(where)).scalars())
    if ids:
        conn.execute(delete(input_tags).where(in_ids(conn, input_tags.c.input_uuid, ids)))
        conn.execute(delete(inputs).where(in_ids(conn, i.input_uuid, ids)))


def purge_runs(conn: Connection, run_ids: Sequence[str]) -> list[str]:
    """Remove those of ``run_ids`` still deleted, with everything of theirs; return them.

    Deleting an experiment marks its runs deleted, so this covers both cases."""
    r = runs.c
    stmt = select(r.run_uuid).where(in_ids(conn, r.run_uuid, list(run_ids)), r.lifecycle_stage == DELETED)
    ids = list(conn.execute(stmt).scalars())
    if not ids:
        return []
    for table in (metrics, latest_metrics, params, tags):
        conn.execute(delete(table).where(in_ids(conn, table.c.run_uuid, ids)))
    i = inputs.c
    _delete_inputs(
        conn,
        or_(
            and_(i.destination_type == RUN, in_ids(conn, i.destination_id, ids)),
            and_(i.source_type.in_([RUN_INPUT, RUN_OUTPUT]), in_ids(conn, i.source_id, ids)),
        ),
    )
    conn.execute(delete(runs).where(in_ids(conn, r.run_uuid, ids)))
    return ids


def purgeable_models(conn: Connection, model_ids: Sequence[str]) -> list[str]:
    """Those of ``model_ids`` that are deleted or sit in a deleted experiment (deleting an
    experiment leaves its logged models' own stage alone)."""
    m, e = logged_models.c, experiments.c
    in_deleted_experiment = (
        select(e.experiment_id)
        .where(
            e.workspace_id == m.workspace_id, e.experiment_id == m.experiment_id, e.lifecycle_stage == DELETED
        )
        .exists()
    )
    stmt = select(m.model_id).where(
        in_ids(conn, m.model_id, list(model_ids)), or_(m.lifecycle_stage == DELETED, in_deleted_experiment)
    )
    return list(conn.execute(stmt).scalars())


def purge_models(conn: Connection, model_ids: Sequence[str]) -> list[str]:
    """Remove those of ``model_ids`` still purgeable, with everything of theirs; return them."""
    m = logged_models.c
    ids = purgeable_models(conn, model_ids)
    if not ids:
        return []
    for table in (logged_model_params, logged_model_tags, logged_model_metrics):
        conn.execute(delete(table).where(in_ids(conn, table.c.model_id, ids)))
    i = inputs.c
    _delete_inputs(
        conn, and_(i.destination_type.in_([MODEL_INPUT, MODEL_OUTPUT]), in_ids(conn, i.destination_id, ids))
    )
    conn.execute(delete(logged_models).where(in_ids(conn, m.model_id, ids)))
    return ids


def holds_runs_or_models(conn: Connection, wid: int, experiment_id: int) -> bool:
    for col in (runs.c, logged_models.c):
        stmt = select(col.workspace_id).where(col.workspace_id == wid, col.experiment_id == experiment_id)
        if conn.execute(stmt.limit(1)).first() is not None:
            return True
    return False


def purge_experiment(conn: Connection, wid: int, experiment_id: int) -> bool:
    """Remove a still-deleted experiment with its tags and datasets (its runs and models are
    purged before). False if it was restored meanwhile or holds runs or models again."""
    e = experiments.c
    where = and_(e.workspace_id == wid, e.experiment_id == experiment_id, e.lifecycle_stage == DELETED)
    if conn.execute(select(e.experiment_id).where(where)).first() is None:
        return False
    if holds_runs_or_models(conn, wid, experiment_id):
        return False
    d = datasets.c
    ds = list(
        conn.execute(
            select(d.dataset_uuid).where(d.workspace_id == wid, d.experiment_id == experiment_id)
        ).scalars()
    )
    if ds:
        i = inputs.c
        _delete_inputs(conn, and_(i.source_type == DATASET, in_ids(conn, i.source_id, ds)))
        conn.execute(delete(datasets).where(in_ids(conn, d.dataset_uuid, ds)))
    t = experiment_tags.c
    conn.execute(delete(experiment_tags).where(t.workspace_id == wid, t.experiment_id == experiment_id))
    conn.execute(delete(experiments).where(where))
    return True


__all__ = [
    "ExperimentRow",
    "Filters",
    "ModelRow",
    "RunRow",
    "deleted_experiments",
    "deleted_models",
    "deleted_runs",
    "experiment_states",
    "holds_runs_or_models",
    "models_of_experiments",
    "purge_experiment",
    "purge_models",
    "purge_runs",
    "purgeable_models",
    "referenced_by_versions",
    "run_states",
    "runs_of_experiments",
]
