"""SQL for runs, their params and tags, and loading whole runs in batches.

Every statement is scoped by ``workspace_id``. Reads of many runs issue one query per
table (runs, latest metrics, params, tags, inputs) for the whole page, never one per run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, bindparam, delete, insert, select, update

from runyard.entities import DatasetInput, Run, RunInfo, RunState
from runyard.search.ast import Filter, OrderBy
from runyard.store.sql import inputs as inputs_sql
from runyard.store.sql import metrics as metrics_sql
from runyard.store.sql.dialect import (
    any_of,
    dialect_insert,
    fetch_raw,
    ids_value,
    in_ids,
    insert_for,
    pg_array_text,
)
from runyard.store.sql.grouped import GroupedWrite
from runyard.store.sql.prepared import Prepared, StatementCache, run_text
from runyard.store.sql.schema import experiments, params, runs, tags
from runyard.store.sql.search import select_run_ids

_c = runs.c
_INFO = (
    _c.run_uuid,
    _c.experiment_id,
    _c.name,
    _c.user_id,
    _c.status,
    _c.start_time,
    _c.end_time,
    _c.artifact_uri,
    _c.lifecycle_stage,
)


# -- single-run reads and writes --------------------------------------------------------
# The statements of runs/create and of every logging call's run check, prepared once.
_W, _R = bindparam("wid"), bindparam("run_id")
_STATE = Prepared(
    lambda _d: select(_c.experiment_id, _c.lifecycle_stage).where(_c.workspace_id == _W, _c.run_uuid == _R)
)
_INFO_BY_ID = Prepared(lambda _d: select(*_INFO).where(_c.workspace_id == _W, _c.run_uuid == _R))
_EXPERIMENT_FOR_RUN = Prepared(
    lambda _d: select(experiments.c.artifact_location, experiments.c.lifecycle_stage).where(
        experiments.c.workspace_id == _W, experiments.c.experiment_id == bindparam("eid")
    )
)
_RUN_COLUMNS = (
    "run_uuid", "workspace_id", "experiment_id", "name", "user_id", "status", "start_time",
    "end_time", "deleted_time", "lifecycle_stage", "artifact_uri",
)  # fmt: skip
_INSERT_RUN = Prepared(lambda _d: insert(runs).values({c: bindparam(c) for c in _RUN_COLUMNS}))
_TAG_COLUMNS = ("workspace_id", "run_uuid", "key", "value")
_INSERT_TAGS = Prepared(lambda _d: insert(tags).values({c: bindparam(c) for c in _TAG_COLUMNS}))
_INSERT_PARAMS = Prepared(
    lambda d: insert_for(d, params).values({c: bindparam(c) for c in _TAG_COLUMNS}).on_conflict_do_nothing()
)


def state(conn: Connection, wid: int, run_id: str) -> RunState | None:
    r = _STATE.first(conn, wid=wid, run_id=run_id)
    return RunState(*r) if r else None


def _metrics_if_active(
    conn: Connection, items: Sequence[tuple[int, str, Sequence[metrics_sql.MetricRow]]]
) -> list[RunState | None]:
    """Log each item's points to its run if the run is active; each run's state either way
    (None: no such run)."""
    if conn.dialect.name == "postgresql":
        if len(items) == 1:
            wid, run_id, rows = items[0]
            row = metrics_sql.write_if_active_pg(conn, wid, run_id, rows)
            return [RunState(*row) if row else None]
        found = metrics_sql.write_many_if_active_pg(conn, items)
        return [RunState(*found[(w, r)]) if (w, r) in found else None for w, r, _rows in items]
    states = []
    for wid, run_id, rows in items:
        state_now = state(conn, wid, run_id)
        if state_now is not None and state_now.lifecycle_stage == "active":
            metrics_sql.write(conn, wid, run_id, rows)
        states.append(state_now)
    return states


# Metrics-only log-batches, (wid, run_id, rows) each: on PostgreSQL the ones that arrive
# together are one statement (Database.write_grouped); the result is each run's state.
METRICS_IF_ACTIVE: GroupedWrite[tuple[int, str, Sequence[metrics_sql.MetricRow]], RunState | None] = (
    GroupedWrite("metrics if active", _metrics_if_active)
)


def get_info(conn: Connection, wid: int, run_id: str) -> RunInfo | None:
    r = _INFO_BY_ID.first(conn, wid=wid, run_id=run_id)
    return RunInfo(*r) if r else None


def experiment_for_run(conn: Connection, wid: int, experiment_id: int) -> tuple[str | None, str] | None:
    """(artifact_location, lifecycle_stage) of the experiment a new run goes into."""
    r = _EXPERIMENT_FOR_RUN.first(conn, wid=wid, eid=experiment_id)
    return (r[0], r[1]) if r else None


def exists(conn: Connection, wid: int, run_id: str) -> bool:
    stmt = select(_c.run_uuid).where(_c.workspace_id == wid, _c.run_uuid == run_id)
    return conn.execute(stmt).first() is not None


def existing_ids(conn: Connection, wid: int, run_ids: Sequence[str]) -> set[str]:
    stmt = select(_c.run_uuid).where(_c.workspace_id == wid, in_ids(conn, _c.run_uuid, run_ids))
    return {r[0] for r in fetch_raw(conn, stmt)}


def insert_run(conn: Connection, wid: int, info: RunInfo, run_tags: dict[str, str | None]) -> None:
    _INSERT_RUN.run(
        conn,
        run_uuid=info.run_id,
        workspace_id=wid,
        experiment_id=info.experiment_id,
        name=info.run_name,
        user_id=info.user_id,
        status=info.status,
        start_time=info.start_time,
        end_time=info.end_time,
        deleted_time=None,
        lifecycle_stage=info.lifecycle_stage,
        artifact_uri=info.artifact_uri,
    )
    # A new run has no tags yet: a plain insert, no upsert needed.
    _INSERT_TAGS.run_many(
        conn,
        ({"workspace_id": wid, "run_uuid": info.run_id, "key": k, "value": v} for k, v in run_tags.items()),
    )


def run_artifact_uri(experiment_location: str | None, run_id: str) -> str:
    """Where a run's artifacts go: under its experiment's location (as MLflow does)."""
    return f"{(experiment_location or '').rstrip('/')}/{run_id}/artifacts"


# A new run and its tags in ONE statement, only into an active experiment, whose
# (artifact_location, lifecycle_stage) comes back either way. The artifact URI is
# run_artifact_uri's, spelled in SQL (rtrim strips every trailing "/", as rstrip does).
_PG_CREATE_RUN = (
    "WITH exp AS (SELECT artifact_location, lifecycle_stage FROM experiments "
    "WHERE workspace_id = CAST(%(wid)s AS BIGINT) AND experiment_id = CAST(%(eid)s AS BIGINT)), "
    "run AS (INSERT INTO runs (run_uuid, workspace_id, experiment_id, name, user_id, status, "
    "start_time, end_time, deleted_time, lifecycle_stage, artifact_uri) "
    "SELECT CAST(%(run_id)s AS VARCHAR), CAST(%(wid)s AS BIGINT), CAST(%(eid)s AS BIGINT), "
    "CAST(%(name)s AS VARCHAR), CAST(%(user_id)s AS VARCHAR), CAST(%(status)s AS VARCHAR), "
    "CAST(%(start_time)s AS BIGINT), NULL, NULL, 'active', "
    "rtrim(coalesce(artifact_location, ''), '/') || '/' || CAST(%(run_id)s AS VARCHAR) || '/artifacts' "
    "FROM exp WHERE lifecycle_stage = 'active' RETURNING run_uuid), "
    "tag AS (INSERT INTO tags (workspace_id, run_uuid, key, value) "
    "SELECT CAST(%(wid)s AS BIGINT), run.run_uuid, kv.k, kv.v FROM run, "
    "unnest(CAST(%(keys)s AS VARCHAR[]), CAST(%(vals)s AS TEXT[])) AS kv(k, v)) "
    "SELECT artifact_location, lifecycle_stage FROM exp"
)


def create_run(
    conn: Connection, wid: int, info: RunInfo, run_tags: dict[str, str | None]
) -> tuple[str | None, str] | None:
    """Insert a run and its tags if its experiment exists and is active, setting
    ``info.artifact_uri``; the experiment's (artifact_location, lifecycle_stage), or None.

    On PostgreSQL this is one statement: run it with ``Database.write_statement`` and a
    runs/create is one round trip."""
    if conn.dialect.name == "postgresql":
        args = {
            "wid": wid,
            "eid": info.experiment_id,
            "run_id": info.run_id,
            "name": info.run_name,
            "user_id": info.user_id,
            "status": info.status,
            "start_time": info.start_time,
            "keys": pg_array_text(list(run_tags)),
            "vals": pg_array_text(list(run_tags.values())),
        }
        row = run_text(conn, _PG_CREATE_RUN, args)[1]
        exp = (row[0], row[1]) if row else None
        if exp is not None and exp[1] == "active":
            info.artifact_uri = run_artifact_uri(exp[0], info.run_id)  # as the statement set it
        return exp
    exp = experiment_for_run(conn, wid, info.experiment_id)
    if exp is not None and exp[1] == "active":
        info.artifact_uri = run_artifact_uri(exp[0], info.run_id)
        insert_run(conn, wid, info, run_tags)
    return exp


def update_run(conn: Connection, wid: int, run_id: str, **values: object) -> None:
    conn.execute(update(runs).where(_c.workspace_id == wid, _c.run_uuid == run_id).values(**values))


def set_tags(conn: Connection, wid: int, run_id: str, values: dict[str, str | None]) -> None:
    """Insert or overwrite tags; keys are written in sorted order so row locks never cross."""
    stmt = dialect_insert(conn, tags)
    stmt = stmt.on_conflict_do_update(index_elements=["run_uuid", "key"], set_={"value": stmt.excluded.value})
    rows = [{"workspace_id": wid, "run_uuid": run_id, "key": k, "value": values[k]} for k in sorted(values)]
    conn.execute(stmt, rows)


def delete_tag(conn: Connection, wid: int, run_id: str, key: str) -> int:
    return conn.execute(
        delete(tags).where(tags.c.workspace_id == wid, tags.c.run_uuid == run_id, tags.c.key == key)
    ).rowcount


def get_tag(conn: Connection, wid: int, run_id: str, key: str) -> tuple[bool, str | None]:
    r = conn.execute(
        select(tags.c.value).where(tags.c.workspace_id == wid, tags.c.run_uuid == run_id, tags.c.key == key)
    ).first()
    return (True, r[0]) if r else (False, None)


_PG_INSERT_PARAMS = (
    "INSERT INTO params (workspace_id, run_uuid, key, value) "
    "SELECT CAST(%(wid)s AS BIGINT), CAST(%(run_id)s AS VARCHAR), k, v "
    "FROM unnest(CAST(%(keys)s AS VARCHAR[]), CAST(%(vals)s AS TEXT[])) AS kv(k, v) "
    "ON CONFLICT (run_uuid, key) DO NOTHING"
)


def insert_params(conn: Connection, wid: int, run_id: str, values: dict[str, str]) -> dict[str, str]:
    """Insert params not logged yet; return the stored value of every given key.

    Existing keys are left alone (ON CONFLICT DO NOTHING) and reading back afterwards sees
    any concurrent writer's committed value, so the caller can refuse a changed value and
    roll the whole transaction back.
    """
    keys = sorted(values)
    if conn.dialect.name == "postgresql":
        # One statement for the whole batch, not one execution per param.
        args = {
            "wid": wid,
            "run_id": run_id,
            "keys": pg_array_text(keys),
            "vals": pg_array_text([values[k] for k in keys]),
        }
        inserted = run_text(conn, _PG_INSERT_PARAMS, args)[0]
    else:
        rows = [{"workspace_id": wid, "run_uuid": run_id, "key": k, "value": values[k]} for k in keys]
        inserted = _INSERT_PARAMS.run_many(conn, rows)
    if inserted == len(keys):
        return dict(values)  # every key was new: what is stored is what was given
    stored = conn.execute(
        select(params.c.key, params.c.value).where(
            params.c.workspace_id == wid, params.c.run_uuid == run_id, params.c.key.in_(keys)
        )
    )
    return dict(stored.all())


# -- many runs at once -------------------------------------------------------------------


# Searches compiled once per distinct query (workspace, experiments, view, filter, order);
# only the page's offset and limit change between executions.
_SEARCHES = StatementCache()


def search_page(
    conn: Connection,
    wid: int,
    experiment_ids: Sequence[int],
    stages: tuple[str, ...],
    filter: Filter,
    order_by: Sequence[OrderBy],
    offset: int,
    limit: int,
) -> list[Run]:
    """One page of the runs matching a parsed search, in its order.

    The ordering query selects the run columns too, so a page costs one query for the runs
    plus one per child table; its SQL is built and compiled once per distinct search.
    """
    eids, clauses, orders = tuple(experiment_ids), tuple(filter), tuple(order_by)

    def build() -> Select[Any]:
        return select_run_ids(wid, eids, stages, clauses, orders).with_only_columns(*_INFO)

    rows = _SEARCHES.page(conn, ("runs", wid, eids, stages, clauses, orders), build, offset, limit)
    return _attach(conn, wid, [RunInfo(*r) for r in rows])


def load(conn: Connection, wid: int, run_ids: Sequence[str]) -> list[Run]:
    """Runs with these ids in this workspace, in the order given (unknown ids are skipped)."""
    stmt = select(*_INFO).where(_c.workspace_id == wid, in_ids(conn, _c.run_uuid, run_ids))
    found = {r[0]: RunInfo(*r) for r in fetch_raw(conn, stmt)}
    return _attach(conn, wid, [found[i] for i in run_ids if i in found])


def get(conn: Connection, wid: int, run_id: str) -> Run | None:
    found = load(conn, wid, [run_id])
    return found[0] if found else None


# The child rows of a page of runs: prepared, the page's ids in one parameter.
_PARAMS_OF_RUNS = Prepared(
    lambda d: select(params.c.run_uuid, params.c.key, params.c.value).where(
        params.c.workspace_id == _W, any_of(d, params.c.run_uuid)
    )
)
_TAGS_OF_RUNS = Prepared(
    lambda d: select(tags.c.run_uuid, tags.c.key, tags.c.value).where(
        tags.c.workspace_id == _W, any_of(d, tags.c.run_uuid)
    )
)


def _attach(conn: Connection, wid: int, infos: list[RunInfo]) -> list[Run]:
    result = [Run(info) for info in infos]
    if not result:
        return result
    by_id = {r.info.run_id: r for r in result}
    # The page's ids, encoded once for its four child queries.
    ids = ids_value(conn, list(by_id))
    nan = math.nan
    for run_id, key, value, ts, step, is_nan in metrics_sql.latest_for_runs(conn, wid, ids):
        by_id[run_id].metrics.append((key, nan if is_nan else value, ts, step))
    for run_id, key, value in _PARAMS_OF_RUNS.rows(conn, wid=wid, ids=ids):
        by_id[run_id].params[key] = value
    for run_id, key, value in _TAGS_OF_RUNS.rows(conn, wid=wid, ids=ids):
        by_id[run_id].tags[key] = value
    links = inputs_sql.for_runs(conn, wid, ids)
    for run_id, datasets in links.datasets.items():
        by_id[run_id].dataset_inputs = [DatasetInput(*d) for d in datasets]
    for run_id, model_ids in links.model_inputs.items():
        by_id[run_id].model_inputs = model_ids
    for run_id, outputs in links.model_outputs.items():
        by_id[run_id].model_outputs = outputs
    return result


__all__ = [
    "METRICS_IF_ACTIVE",
    "DatasetInput",
    "Run",
    "RunInfo",
    "RunState",
    "create_run",
    "delete_tag",
    "existing_ids",
    "exists",
    "experiment_for_run",
    "get",
    "get_info",
    "get_tag",
    "insert_params",
    "insert_run",
    "load",
    "run_artifact_uri",
    "search_page",
    "set_tags",
    "state",
    "update_run",
]
