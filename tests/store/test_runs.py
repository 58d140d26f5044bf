"""Creating a run: only into an active experiment, with its tags and artifact URI, in one go."""

from __future__ import annotations

import itertools
import uuid

import pytest
from sqlalchemy import insert, select, update

from runyard.entities import RunInfo
from runyard.store.sql import experiments as experiments_sql
from runyard.store.sql import runs as runs_sql
from runyard.store.sql.engine import Database
from runyard.store.sql.schema import experiments, runs, workspaces

WS = 1
_ids = itertools.count(1000)


@pytest.fixture(scope="module", autouse=True)
def _workspace(db: Database) -> None:
    def tx(conn) -> None:  # noqa: ANN001
        if conn.execute(select(workspaces.c.id).where(workspaces.c.id == WS)).first() is None:
            conn.execute(insert(workspaces).values(id=WS, name="runs", creation_time=0, last_update_time=0))

    db.write(tx)


def _experiment(db: Database, location: str | None, stage: str = "active") -> int:
    eid = next(_ids)

    def tx(conn) -> None:  # noqa: ANN001
        experiments_sql.insert_experiment(conn, WS, eid, f"e{eid}", location, 1, {})
        if stage != "active":
            conn.execute(
                update(experiments).where(experiments.c.experiment_id == eid).values(lifecycle_stage=stage)
            )

    db.write(tx)
    return eid


def _create(db: Database, eid: int, tags: dict[str, str | None]) -> tuple[RunInfo, tuple | None]:
    info = RunInfo(uuid.uuid4().hex, eid, "r", "u", "RUNNING", 5, None, None, "active")
    found = db.write_statement(lambda conn: runs_sql.create_run(conn, WS, info, tags))
    return info, found


def test_a_run_goes_into_an_active_experiment_with_its_tags(db: Database) -> None:
    eid = _experiment(db, "s3://bucket/exp//")
    info, found = _create(db, eid, {"mlflow.runName": "r", "note": None, "q": 'a "b" \\c'})
    assert found == ("s3://bucket/exp//", "active")
    assert info.artifact_uri == f"s3://bucket/exp/{info.run_id}/artifacts"
    with db.read() as conn:
        run = runs_sql.get(conn, WS, info.run_id)
    assert run is not None
    assert run.info.artifact_uri == info.artifact_uri
    assert (run.info.experiment_id, run.info.user_id, run.info.start_time) == (eid, "u", 5)
    assert run.tags == {"mlflow.runName": "r", "note": None, "q": 'a "b" \\c'}


def test_an_experiment_without_a_location_gives_a_relative_uri(db: Database) -> None:
    info, found = _create(db, _experiment(db, None), {})
    assert found is not None and info.artifact_uri == f"/{info.run_id}/artifacts"


def test_a_deleted_or_unknown_experiment_gets_no_run(db: Database) -> None:
    deleted = _experiment(db, "/tmp/x", stage="deleted")
    info, found = _create(db, deleted, {"k": "v"})
    assert found == ("/tmp/x", "deleted")
    info2, missing = _create(db, 999_999, {"k": "v"})
    assert missing is None
    with db.read() as conn:
        ids = {r[0] for r in conn.execute(select(runs.c.run_uuid))}
    assert info.run_id not in ids and info2.run_id not in ids
