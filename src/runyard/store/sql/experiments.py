"""SQL for experiments and their tags. Every statement is scoped by workspace_id."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Select, bindparam, delete, insert, select, update

from runyard.entities import Experiment
from runyard.search import SearchEntity, parse_experiment_filter, parse_order_by
from runyard.store.sql.dialect import any_of, dialect_insert, fetch_raw, ids_value
from runyard.store.sql.prepared import Prepared, StatementCache
from runyard.store.sql.schema import experiment_tags, experiments, runs
from runyard.store.sql.search import select_experiment_ids

_cols = experiments.c


def _tags(conn: Connection, wid: int, ids: Sequence[int]) -> dict[int, dict[str, str | None]]:
    out: dict[int, dict[str, str | None]] = {i: {} for i in ids}
    if not ids:
        return out
    for eid, key, value in _TAGS_OF.rows(conn, wid=wid, ids=ids_value(conn, ids)):
        out[eid][key] = value
    return out


# The tags of a page of experiments: prepared, the page's ids in one parameter.
_TAGS_OF = Prepared(
    lambda d: select(experiment_tags.c.experiment_id, experiment_tags.c.key, experiment_tags.c.value).where(
        experiment_tags.c.workspace_id == bindparam("wid"), any_of(d, experiment_tags.c.experiment_id)
    )
)


_COLUMNS = (
    _cols.experiment_id,
    _cols.name,
    _cols.artifact_location,
    _cols.lifecycle_stage,
    _cols.creation_time,
    _cols.last_update_time,
)


def _load(conn: Connection, wid: int, stmt: Select) -> list[Experiment]:
    rows = fetch_raw(conn, stmt.with_only_columns(*_COLUMNS))
    tags = _tags(conn, wid, [r[0] for r in rows])
    return [Experiment(*r, tags[r[0]]) for r in rows]


# experiments/get is on the path of nearly every client session: prepared once.
_W, _E = bindparam("wid"), bindparam("eid")
_BY_ID = Prepared(lambda _d: select(*_COLUMNS).where(_cols.workspace_id == _W, _cols.experiment_id == _E))
_TAGS_BY_ID = Prepared(
    lambda _d: select(experiment_tags.c.key, experiment_tags.c.value).where(
        experiment_tags.c.workspace_id == _W, experiment_tags.c.experiment_id == _E
    )
)


def get(conn: Connection, wid: int, experiment_id: int) -> Experiment | None:
    row = _BY_ID.first(conn, wid=wid, eid=experiment_id)
    if row is None:
        return None
    return Experiment(*row, dict(_TAGS_BY_ID.rows(conn, wid=wid, eid=experiment_id)))


def get_by_name(conn: Connection, wid: int, name: str) -> Experiment | None:
    found = _load(conn, wid, select(experiments).where(_cols.workspace_id == wid, _cols.name == name))
    return found[0] if found else None


def exists_name(conn: Connection, wid: int, name: str) -> bool:
    stmt = select(_cols.experiment_id).where(_cols.workspace_id == wid, _cols.name == name)
    return conn.execute(stmt).first() is not None


def insert_experiment(
    conn: Connection,
    wid: int,
    experiment_id: int,
    name: str,
    artifact_location: str | None,
    now: int,
    tags: dict[str, str | None],
) -> None:
    conn.execute(
        insert(experiments).values(
            workspace_id=wid,
            experiment_id=experiment_id,
            name=name,
            artifact_location=artifact_location,
            lifecycle_stage="active",
            creation_time=now,
            last_update_time=now,
        )
    )
    if tags:
        set_tags(conn, wid, experiment_id, tags)


def set_artifact_location(conn: Connection, wid: int, experiment_id: int, location: str) -> None:
    conn.execute(
        update(experiments)
        .where(_cols.workspace_id == wid, _cols.experiment_id == experiment_id)
        .values(artifact_location=location)
    )


def update_fields(conn: Connection, wid: int, experiment_id: int, **values: object) -> None:
    conn.execute(
        update(experiments)
        .where(_cols.workspace_id == wid, _cols.experiment_id == experiment_id)
        .values(**values)
    )


def set_tags(conn: Connection, wid: int, experiment_id: int, tags: dict[str, str | None]) -> None:
    stmt = dialect_insert(conn, experiment_tags)
    stmt = stmt.on_conflict_do_update(
        index_elements=["workspace_id", "experiment_id", "key"], set_={"value": stmt.excluded.value}
    )
    conn.execute(
        stmt,
        [
            {"workspace_id": wid, "experiment_id": experiment_id, "key": k, "value": v}
            for k, v in tags.items()
        ],
    )


def delete_tag(conn: Connection, wid: int, experiment_id: int, key: str) -> int:
    return conn.execute(
        delete(experiment_tags).where(
            experiment_tags.c.workspace_id == wid,
            experiment_tags.c.experiment_id == experiment_id,
            experiment_tags.c.key == key,
        )
    ).rowcount


# Searches compiled once per distinct query; only the page's offset and limit change.
_SEARCHES = StatementCache()


def search(
    conn: Connection,
    wid: int,
    stages: tuple[str, ...],
    filter_string: str | None,
    order_by: list[str],
    offset: int,
    limit: int,
) -> list[Experiment]:
    """One page of matching experiments, in order: the ordering query loads the rows too."""

    def build() -> Select:
        ordered = select_experiment_ids(
            wid,
            stages,
            parse_experiment_filter(filter_string),
            parse_order_by(SearchEntity.EXPERIMENTS, order_by),
        )
        return ordered.with_only_columns(*_COLUMNS)

    key = ("experiments", wid, stages, filter_string or "", tuple(order_by))
    rows = _SEARCHES.page(conn, key, build, offset, limit)
    tags = _tags(conn, wid, [r[0] for r in rows])
    return [Experiment(*r, tags[r[0]]) for r in rows]


def set_runs_lifecycle(conn: Connection, wid: int, experiment_id: int, stage: str, now: int) -> None:
    """Deleting an experiment deletes its runs (and restoring restores them), as in MLflow."""
    conn.execute(
        update(runs)
        .where(runs.c.workspace_id == wid, runs.c.experiment_id == experiment_id)
        .values(lifecycle_stage=stage, deleted_time=now if stage == "deleted" else None)
    )


__all__ = [
    "delete_tag",
    "exists_name",
    "get",
    "get_by_name",
    "insert_experiment",
    "search",
    "set_artifact_location",
    "set_runs_lifecycle",
    "set_tags",
    "update_fields",
]
