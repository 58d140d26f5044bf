"""``runyard user``: people who can sign in (admin only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from runyard.cli.connect import api_command, echo_table, when
from runyard.cli.options import setting_options

if TYPE_CHECKING:
    from runyard.client.api import RunyardAPI


@click.group()
def user() -> None:
    """Add, list, promote, demote and delete users (needs an admin); recover admin access."""


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


@user.command("promote")
@click.argument("name")
@api_command
def promote(api: RunyardAPI, name: str) -> None:
    """Make user (or service principal) NAME a global admin."""
    api.set_admin(name, True)
    click.echo(f"{name} is now an admin.")


@user.command("demote")
@click.argument("name")
@api_command
def demote(api: RunyardAPI, name: str) -> None:
    """Take global admin away from NAME (their workspace roles stay). The last admin cannot be demoted."""
    api.set_admin(name, False)
    click.echo(f"{name} is no longer an admin.")


@user.command("delete")
@click.argument("name")
@click.confirmation_option(prompt="Delete this user, their roles and every token they hold?")
@api_command
def delete(api: RunyardAPI, name: str) -> None:
    """Delete user NAME: their roles and tokens stop working at once. The last admin cannot go."""
    api.delete_user(name)
    click.echo(f"Deleted user {name}.")


@user.command("recover")
@click.argument("name", default="admin")
@setting_options("backend_store_uri")
def recover(name: str, **flags: object) -> None:
    """Regain admin access when every admin credential is lost.

    Runs on the server machine, straight against the metadata database (not over HTTP): makes
    user NAME (default: admin; created if missing) a global admin and prints a new token valid
    for one day. Sign in with it, then create a lasting one with `runyard token create`.
    The audit log records it as done by "runyard (console)".
    """
    from runyard.config import Settings
    from runyard.errors import RunyardError
    from runyard.services.access import AccessService
    from runyard.services.users import RECOVERY_TOKEN_DAYS, UserService
    from runyard.store.sql.engine import Database
    from runyard.store.sql.migrate import ensure_schema

    database = Database(Settings.load(flags).backend_store_uri)
    try:
        ensure_schema(database)
        _token, secret = UserService(database, AccessService(database).changed).recover(name)
    except RunyardError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        database.close()
    click.echo(f"{name} is an admin. A token valid for {RECOVERY_TOKEN_DAYS} day (shown once):", err=True)
    click.echo(secret)


__all__ = ["user"]
