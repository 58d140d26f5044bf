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
@click.option(
    "--first-token-days",
    type=click.IntRange(min=1),
    default=7,
    show_default=True,
    help="Lifetime of the first token printed for the user.",
)
@api_command
def add(api: RunyardAPI, name: str, admin: bool, first_token_days: int) -> None:
    """Add user NAME and print a first token for them (shown once).

    They use it once with `runyard login --token ...` (or MLFLOW_TRACKING_TOKEN), then sign in
    with `runyard login` from then on. Give them roles with `runyard role grant`.
    """
    api.add_user(name, admin)
    click.echo(f"Added user {name}{' (admin)' if admin else ''}.", err=True)
    out = api.create_token(f"first-token-{name}", first_token_days, principal=name)
    click.echo(f"First token for {name} (valid {first_token_days} days; hand it over privately):", err=True)
    click.echo(out["secret"])


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
