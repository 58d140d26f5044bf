"""SQL for the model registry: registered models, versions, their tags and aliases.

Every statement is scoped by workspace_id. Reads load whole entities in a fixed number of
queries (rows, tags, aliases, latest versions), never one query per model or version.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Row,
    and_,
    delete,
    false,
    func,
    insert,
    select,
    tuple_,
    update,
)

from runyard.entities import ModelVersion, RegisteredModel
from runyard.search.ast import Filter, OrderBy
from runyard.store.sql.dialect import dialect_insert
from runyard.store.sql.schema import (
    model_version_tags,
    model_versions,
    registered_model_aliases,
    registered_model_tags,
    registered_models,
)
from runyard.store.sql.search import select_registered_model_names

T = TypeVar("T")
_rm, _mv, _rmt, _mvt, _al = (
    registered_models.c,
    model_versions.c,
    registered_model_tags.c,
    model_version_tags.c,
    registered_model_aliases.c,
)
# Bound parameters per IN list; SQLite allows 32766 per statement, tuples count twice.
_CHUNK = 500
# Every table keyed by (workspace_id, name): a rename or delete touches all of them.
_BY_NAME = (
    registered_models,
    registered_model_tags,
    model_versions,
    model_version_tags,
    registered_model_aliases,
)


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def version_from_row(r: Row[Any]) -> ModelVersion:
    return ModelVersion(
        r.name,
        r.version,
        r.creation_time,
        r.last_updated_time,
        r.description,
        r.user_id,
        r.current_stage,
        r.source,
        r.run_id,
        r.run_link,
        r.status,
        r.status_message,
        r.storage_location,
        r.model_id,
    )


def _aliases(conn: Connection, wid: int, names: Sequence[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {n: {} for n in names}
    for chunk in _chunks(names):
        stmt = (
            select(_al.name, _al.alias, _al.version)
            .where(_al.workspace_id == wid, _al.name.in_(chunk))
            .order_by(_al.alias)
        )
        for name, alias, version in conn.execute(stmt):
            out[name][alias] = version
    return out


def fill_versions(conn: Connection, wid: int, versions: list[ModelVersion]) -> list[ModelVersion]:
    """Attach tags and aliases to already loaded versions (two queries per chunk)."""
    by_key = {(v.name, v.version): v for v in versions}
    keys = list(by_key)
    for chunk in _chunks(keys):
        stmt = select(_mvt.name, _mvt.version, _mvt.key, _mvt.value).where(
            _mvt.workspace_id == wid, tuple_(_mvt.name, _mvt.version).in_(chunk)
        )
        for name, version, key, value in conn.execute(stmt):
            by_key[(name, version)].tags[key] = value
    for name, aliases in _aliases(conn, wid, sorted({v.name for v in versions})).items():
        for alias, version in aliases.items():
            if (name, version) in by_key:
                by_key[(name, version)].aliases.append(alias)
    return versions


def _latest_per_stage(conn: Connection, wid: int, names: Sequence[str]) -> dict[str, list[ModelVersion]]:
    """The highest live version in each stage of each model, in one windowed query per chunk."""
    out: dict[str, list[ModelVersion]] = {n: [] for n in names}
    found: list[ModelVersion] = []
    for chunk in _chunks(names):
        rank = func.row_number().over(partition_by=(_mv.name, _mv.current_stage), order_by=_mv.version.desc())
        ranked = (
            select(*model_versions.c, rank.label("rank"))
            .where(_mv.workspace_id == wid, _mv.name.in_(chunk), _mv.deleted == false())
            .subquery()
        )
        stmt = select(ranked).where(ranked.c.rank == 1).order_by(ranked.c.name, ranked.c.version)
        found += [version_from_row(r) for r in conn.execute(stmt)]
    for v in fill_versions(conn, wid, found):
        out[v.name].append(v)
    return out


# -- registered models -----------------------------------------------------------------------


def load_models(conn: Connection, wid: int, names: Sequence[str]) -> list[RegisteredModel]:
    """Registered models with these names, complete, in the order given (missing ones skipped)."""
    names = list(dict.fromkeys(names))
    models: dict[str, RegisteredModel] = {}
    for chunk in _chunks(names):
        stmt = select(registered_models).where(_rm.workspace_id == wid, _rm.name.in_(chunk))
        for r in conn.execute(stmt):
            models[r.name] = RegisteredModel(r.name, r.creation_time, r.last_updated_time, r.description)
    found = [n for n in names if n in models]
    for chunk in _chunks(found):
        stmt = select(_rmt.name, _rmt.key, _rmt.value).where(_rmt.workspace_id == wid, _rmt.name.in_(chunk))
        for name, key, value in conn.execute(stmt):
            models[name].tags[key] = value
    for name, aliases in _aliases(conn, wid, found).items():
        models[name].aliases = aliases
    for name, latest in _latest_per_stage(conn, wid, found).items():
        models[name].latest_versions = latest
    return [models[n] for n in found]


def model_exists(conn: Connection, wid: int, name: str) -> bool:
    stmt = select(_rm.name).where(_rm.workspace_id == wid, _rm.name == name)
    return conn.execute(stmt).first() is not None


def model_tags(conn: Connection, wid: int, name: str) -> dict[str, str | None]:
    stmt = select(_rmt.key, _rmt.value).where(_rmt.workspace_id == wid, _rmt.name == name)
    return {k: v for k, v in conn.execute(stmt)}


def insert_model(
    conn: Connection, wid: int, name: str, description: str | None, now: int, tags: dict[str, str | None]
) -> None:
    conn.execute(
        insert(registered_models).values(
            workspace_id=wid,
            name=name,
            description=description,
            creation_time=now,
            last_updated_time=now,
            last_version=0,
        )
    )
    if tags:
        set_model_tags(conn, wid, name, tags)


def update_model(conn: Connection, wid: int, name: str, **values: object) -> int:
    stmt = update(registered_models).where(_rm.workspace_id == wid, _rm.name == name).values(**values)
    return conn.execute(stmt).rowcount


def rename_model(conn: Connection, wid: int, name: str, new_name: str, now: int) -> None:
    """Move the model and everything keyed by its name; versions count as updated."""
    for table in _BY_NAME:
        values: dict[str, object] = {"name": new_name}
        if table is registered_models or table is model_versions:
            values["last_updated_time"] = now
        conn.execute(update(table).where(table.c.workspace_id == wid, table.c.name == name).values(**values))


def delete_model(conn: Connection, wid: int, name: str) -> int:
    """Delete the model with its versions, tags and aliases; returns 0 if it did not exist."""
    removed = 0
    for table in _BY_NAME:
        count = conn.execute(delete(table).where(table.c.workspace_id == wid, table.c.name == name)).rowcount
        removed = count if table is registered_models else removed
    return removed


def set_model_tags(conn: Connection, wid: int, name: str, tags: dict[str, str | None]) -> None:
    stmt = dialect_insert(conn, registered_model_tags)
    stmt = stmt.on_conflict_do_update(
        index_elements=["workspace_id", "name", "key"], set_={"value": stmt.excluded.value}
    )
    conn.execute(stmt, [{"workspace_id": wid, "name": name, "key": k, "value": v} for k, v in tags.items()])


def delete_model_tag(conn: Connection, wid: int, name: str, key: str) -> int:
    stmt = delete(registered_model_tags).where(_rmt.workspace_id == wid, _rmt.name == name, _rmt.key == key)
    return conn.execute(stmt).rowcount


def search_model_names(
    conn: Connection, wid: int, filter: Filter, order_by: Sequence[OrderBy], offset: int, limit: int
) -> list[str]:
    stmt = select_registered_model_names(wid, filter, order_by).offset(offset).limit(limit)
    return list(conn.execute(stmt).scalars())


# -- model versions --------------------------------------------------------------------------


def live_version(wid: int, name: str, version: int) -> Any:
    return and_(_mv.workspace_id == wid, _mv.name == name, _mv.version == version, _mv.deleted == false())


def load_versions(conn: Connection, wid: int, keys: Sequence[tuple[str, int]]) -> list[ModelVersion]:
    """Live versions with these (name, version) keys, complete, in the order given."""
    found: dict[tuple[str, int], ModelVersion] = {}
    for chunk in _chunks(list(keys)):
        stmt = select(model_versions).where(
            _mv.workspace_id == wid, tuple_(_mv.name, _mv.version).in_(chunk), _mv.deleted == false()
        )
        for r in conn.execute(stmt):
            found[(r.name, r.version)] = version_from_row(r)
    return fill_versions(conn, wid, [found[k] for k in keys if k in found])


def version_exists(conn: Connection, wid: int, name: str, version: int) -> bool:
    return conn.execute(select(_mv.version).where(live_version(wid, name, version))).first() is not None


def get_version(conn: Connection, wid: int, name: str, version: int) -> ModelVersion | None:
    found = load_versions(conn, wid, [(name, version)])
    return found[0] if found else None


def latest_version_number(conn: Connection, wid: int, name: str) -> int | None:
    stmt = select(func.max(_mv.version)).where(
        _mv.workspace_id == wid, _mv.name == name, _mv.deleted == false()
    )
    return conn.execute(stmt).scalar()


def latest_versions(conn: Connection, wid: int, name: str) -> list[ModelVersion]:
    return _latest_per_stage(conn, wid, [name])[name]


# -- aliases ---------------------------------------------------------------------------------


def set_alias(conn: Connection, wid: int, name: str, alias: str, version: int) -> None:
    stmt = dialect_insert(conn, registered_model_aliases)
    stmt = stmt.on_conflict_do_update(
        index_elements=["workspace_id", "name", "alias"], set_={"version": stmt.excluded.version}
    )
    conn.execute(stmt, {"workspace_id": wid, "name": name, "alias": alias, "version": version})


def delete_alias(conn: Connection, wid: int, name: str, alias: str) -> int:
    stmt = delete(registered_model_aliases).where(
        _al.workspace_id == wid, _al.name == name, _al.alias == alias
    )
    return conn.execute(stmt).rowcount


def alias_version(conn: Connection, wid: int, name: str, alias: str) -> int | None:
    stmt = select(_al.version).where(_al.workspace_id == wid, _al.name == name, _al.alias == alias)
    return conn.execute(stmt).scalar()


__all__ = [
    "ModelVersion",
    "RegisteredModel",
    "alias_version",
    "delete_alias",
    "delete_model",
    "delete_model_tag",
    "fill_versions",
    "get_version",
    "insert_model",
    "latest_version_number",
    "latest_versions",
    "live_version",
    "load_models",
    "load_versions",
    "model_exists",
    "model_tags",
    "rename_model",
    "search_model_names",
    "set_alias",
    "set_model_tags",
    "update_model",
    "version_exists",
    "version_from_row",
]
