"""Migrations produce exactly the schema in store/sql/schema.py, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

from runyard.cli import main
from runyard.store.sql import migrate
from runyard.store.sql.engine import Database
from runyard.store.sql.schema import metadata
from tests.support.pg import postgres_database


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db(request, tmp_path):
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'm.db'}")
        yield db
        db.close()
        return
    with postgres_database("runyard_mig") as url:
        db = Database(url)
        yield db
        db.close()


def test_migrations_match_the_schema(empty_db):
    migrate.upgrade(empty_db)
    with empty_db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []
    assert migrate.current_revision(empty_db) == migrate.head_revision(empty_db)


def test_old_schema_refuses_to_start_and_names_the_fix(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    migrate.upgrade(db)
    with db._write_engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0000_older'")
    with pytest.raises(migrate.SchemaOutOfDate) as err:
        migrate.ensure_schema(db)
    assert "runyard db upgrade" in err.value.message
    db.close()


def test_db_current_and_upgrade_commands(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    out = runner.invoke(main, ["db", "current", "--backend-store-uri", url])
    assert out.exit_code == 0, out.output
    assert "current: empty" in out.output
    out = runner.invoke(main, ["db", "upgrade", "--backend-store-uri", url])
    assert out.exit_code == 0, out.output
    assert "Schema upgraded" in out.output
    out = runner.invoke(main, ["db", "current", "--backend-store-uri", url])
    assert "up to date" in out.output


def test_server_refuses_a_stale_schema_with_a_clear_message(tmp_path):
    url = f"sqlite:///{tmp_path / 'stale.db'}"
    db = Database(url)
    migrate.upgrade(db, "0001")
    db.close()
    out = CliRunner().invoke(main, ["server", "--backend-store-uri", url, "--port", "0"])
    assert out.exit_code == 1
    assert "runyard db upgrade" in out.output
    assert "Traceback" not in out.output
