"""Schema versions: create a fresh database, upgrade an old one, refuse to run on a stale one.

Migrations live in ``migrations/versions`` as numbered files (0001_initial, ...).
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from runyard.errors import RunyardError
from runyard.store.sql.engine import Database

_HERE = Path(__file__).parent / "migrations"
log = logging.getLogger("runyard.store")


class SchemaOutOfDate(RunyardError):
    error_code = "INVALID_STATE"
    http_status = 503


def _config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def head_revision(db: Database) -> str:
    head = ScriptDirectory.from_config(_config(db)).get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    with db._write_engine.connect() as conn:  # noqa: SLF001 - migrations need the writer's engine
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database, revision: str = "head") -> None:
    cfg = _config(db)
    with db._write_engine.begin() as conn:  # noqa: SLF001
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def ensure_schema(db: Database) -> None:
    """Create the schema on an empty database; refuse to start on an old one."""
    current = current_revision(db)
    head = head_revision(db)
    if current == head:
        return
    if current is None:
        log.info("Empty database: creating the schema (revision %s)", head)
        upgrade(db)
        return
    raise SchemaOutOfDate(
        f"The database schema is at revision {current} but this Runyard needs {head}. "
        f"Back up the database, then run `runyard db upgrade --backend-store-uri ...`."
    )


__all__ = ["current_revision", "ensure_schema", "head_revision", "upgrade"]
