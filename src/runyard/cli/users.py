"""``runyard user``: people who can sign in (admin only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from runyard.cli.connect import api_command, echo_table, when

if TYPE_CHECKING:
    from runyard.client.api import RunyardAPI


@click.group()
def user() -> None:
    """Add and list users (needs an admin)."""


@user.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Make the user a global admin.")
@api_command
def add(api: RunyardAPI, name: str, admin: bool) -> None:
    """Add user NAME. They sign in with `runyard login`; give them roles with `runyard role grant`."""
    api.add_user(name, admin)
    click.echo(f"Added user {name}{' (admin)' if admin else ''}.")


@user.command("list")
@api_command
def list_(api: RunyardAPI) -> None:
    """List users."""
    echo_table(
        api.list_users(),
        [("NAME", "name"), ("KIND", "kind"), ("ADMIN", "is_admin"), ("CREATED", when("creation_time"))],
        "No users.",
    )


__all__ = ["user"]
