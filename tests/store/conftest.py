"""A fresh schema-only database per store test module, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from runyard.store.sql.engine import Database
from runyard.store.sql.schema import metadata
from tests.support.pg import postgres_database


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp(name) / 'db.sqlite'}"
        else:
            url = stack.enter_context(postgres_database(f"runyard_{name}"))
        database = Database(url)
        metadata.create_all(database.engine)
        try:
            yield database
        finally:
            database.close()
