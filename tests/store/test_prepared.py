"""Prepared statements and the search statement cache, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, insert, select, text

from runyard.store.sql.dialect import any_of, ids_value
from runyard.store.sql.engine import Database
from runyard.store.sql.prepared import Prepared, StatementCache
from runyard.store.sql.schema import experiments, workspaces

WS = 1
PAGE = {"page_offset": bindparam("page_offset", 0), "page_limit": bindparam("page_limit", 0)}


@pytest.fixture(scope="module", autouse=True)
def ten_experiments(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(insert(workspaces).values(id=WS, name="prep", creation_time=0, last_update_time=0))
        conn.execute(
            insert(experiments),
            [
                {
                    "workspace_id": WS,
                    "experiment_id": i,
                    "name": f"e{i}",
                    "lifecycle_stage": "deleted" if i % 3 == 0 else "active",
                    "creation_time": 1000 + i,
                }
                for i in range(10)
            ],
        )


def _names_in(stages: tuple[str, ...], names: tuple[str, ...]):
    c = experiments.c
    return (
        select(c.experiment_id)
        .where(c.workspace_id == WS, c.lifecycle_stage.in_(stages), c.name.in_(names))
        .order_by(c.experiment_id)
        .offset(PAGE["page_offset"])
        .limit(PAGE["page_limit"])
    )


def test_a_cached_search_is_built_once_and_pages_with_new_offsets(db: Database) -> None:
    cache, builds = StatementCache(), []

    def build():
        builds.append(1)
        c = experiments.c
        names = ("e1", "e2", "e4", "e5", "e7")
        return select(c.experiment_id).where(c.workspace_id == WS, c.name.in_(names)).order_by(c.name)

    with db.read() as conn:
        first = cache.page(conn, "names", build, offset=0, limit=2)
        second = cache.page(conn, "names", build, offset=2, limit=2)
        third = cache.page(conn, "names", build, offset=4, limit=2)
    assert [r[0] for r in first + second + third] == [1, 2, 4, 5, 7]
    assert len(builds) == 1


def test_in_list_values_are_part_of_the_compiled_statement_so_keys_must_name_them(db: Database) -> None:
    cache = StatementCache()
    with db.read() as conn:
        one = cache.rows(conn, ("in", ("e1",)), lambda: _names_in(("active",), ("e1",)), **_all())
        two = cache.rows(conn, ("in", ("e1", "e2")), lambda: _names_in(("active",), ("e1", "e2")), **_all())
        deleted = cache.rows(conn, ("del",), lambda: _names_in(("deleted",), ("e3", "e6", "e7")), **_all())
    assert [r[0] for r in one] == [1]
    assert [r[0] for r in two] == [1, 2]
    assert [r[0] for r in deleted] == [3, 6]


def test_the_least_recently_used_statement_is_dropped_past_the_size(db: Database) -> None:
    cache, builds = StatementCache(size=2), []

    def build_for(name: str):
        def build():
            builds.append(name)
            return _names_in(("active",), (name,))

        return build

    with db.read() as conn:
        for name in ["e1", "e2", "e1", "e4", "e1", "e2"]:
            cache.rows(conn, name, build_for(name), **_all())
    # e1 stays in use; e2 was pushed out by e4 and had to be built again.
    assert builds == ["e1", "e2", "e4", "e2"]
    assert len(cache) == 2


def test_prepared_refuses_an_expanding_in_list(db: Database) -> None:
    stmt = Prepared(lambda _d: select(experiments.c.name).where(experiments.c.experiment_id.in_([1, 2])))
    with db.read() as conn, pytest.raises(ValueError, match="any_of"):
        stmt.rows(conn)


def test_on_postgres_a_prepared_statement_is_planned_once_for_any_number_of_ids(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL plans prepared statements; SQLite compiles every statement once anyway")
    names = Prepared(
        lambda d: select(experiments.c.name).where(
            experiments.c.workspace_id == bindparam("wid"), any_of(d, experiments.c.experiment_id)
        )
    )
    with db.read() as conn:
        # Its first use prepares it; PostgreSQL plans it once, not once per call for these
        # ids (planning a page's 255 ids took about as long as running the query).
        for ids in ([1], list(range(1000)), [2, 4]):
            found = names.rows(conn, wid=WS, ids=ids_value(conn, ids))
            assert sorted(r[0] for r in found) == sorted(f"e{i}" for i in ids if i < 10)
        plans = conn.execute(
            text(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                " WHERE statement LIKE 'SELECT experiments.name %'"
            )
        ).all()
    # All three calls ran the one generic plan; none was planned for its own ids.
    assert plans == [(3, 0)]


def _all() -> dict[str, int]:
    return {"page_offset": 0, "page_limit": 100}


def test_on_postgres_a_cached_search_is_planned_for_its_values_every_time(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL plans prepared statements; SQLite compiles every statement once anyway")
    cache = StatementCache()
    with db.read() as conn:
        # More runs than psycopg's threshold for preparing a statement on its own (5).
        for offset in range(8):
            found = cache.rows(
                conn,
                "filtered",
                lambda: _names_in(("active",), ("e1", "e2", "e4")),
                page_offset=offset,
                page_limit=1,
            )
            assert [r[0] for r in found] == ([1, 2, 4][offset : offset + 1])
        prepared = conn.execute(
            text(
                "SELECT count(*) FROM pg_prepared_statements"
                " WHERE statement LIKE 'SELECT experiments.experiment_id %'"
            )
        ).scalar()
    # Never prepared, so never given a generic plan: its filter's values are parameters,
    # and a plan made without them can be many times slower than one made for them.
    assert prepared == 0
