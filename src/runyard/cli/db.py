"""``runyard db``: schema versions of the metadata database."""

from __future__ import annotations

import click

from runyard.cli.options import setting_options
from runyard.config import Settings


@click.group()
def db() -> None:
    """Inspect and upgrade the metadata database schema."""


def _database(flags: dict[str, object]):
    from runyard.store.sql.engine import Database

    return Database(Settings.load(flags).backend_store_uri)


@db.command()
@setting_options("backend_store_uri")
def upgrade(**flags: object) -> None:
    """Upgrade the schema to the version this Runyard needs (back up first)."""
    from runyard.store.sql import migrate

    database = _database(flags)
    try:
        before = migrate.current_revision(database)
        migrate.upgrade(database)
        after = migrate.current_revision(database)
    finally:
        database.close()
    click.echo(
        f"Schema upgraded: {before or 'empty'} -> {after}"
        if before != after
        else f"Schema is current ({after})."
    )


@db.command()
@setting_options("backend_store_uri")
def current(**flags: object) -> None:
    """Print the schema revision of the database and the one this Runyard needs."""
    from runyard.store.sql import migrate

    database = _database(flags)
    try:
        cur, head = migrate.current_revision(database), migrate.head_revision(database)
    finally:
        database.close()
    state = "up to date" if cur == head else "needs `runyard db upgrade`"
    click.echo(f"current: {cur or 'empty'}\nrequired: {head}\n{state}")
