"""``runyard token``: personal access tokens, for scripts and MLFLOW_TRACKING_TOKEN."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from runyard.cli.connect import api_command, echo_secret, echo_table, env_hint, when

if TYPE_CHECKING:
    from runyard.client.api import RunyardAPI


@click.group()
def token() -> None:
    """Create, list and revoke your personal access tokens."""


@token.command("create")
@click.option("--name", required=True, help="What the token is for, e.g. laptop or nightly-job.")
@click.option(
    "--expires-in-days",
    type=click.IntRange(min=1),
    default=90,
    show_default=True,
    help="Days until the token stops working.",
)
@click.option("--user", "for_user", default=None, help="Create it for another user (needs an admin).")
@api_command
def create(api: RunyardAPI, name: str, expires_in_days: int, for_user: str | None) -> None:
    """Create a token and print it (shown only once).

    Use it with the stock mlflow client: MLFLOW_TRACKING_TOKEN=<token>. An admin can give a
    new user their first credential with --user NAME.
    """
    out = api.create_token(name, expires_in_days, principal=for_user)
    info = out.get("token", {})
    click.echo(
        f"Created token {info.get('id')} ({name}), expires {when('expires_at')(info) or 'never'}.", err=True
    )
    echo_secret([out["secret"]])
    click.echo(f"Use it from mlflow: {env_hint('MLFLOW_TRACKING_TOKEN', '<the token above>')}", err=True)


@token.command("list")
@click.option("--all", "all_", is_flag=True, help="Everyone's tokens (needs an admin).")
@api_command
def list_(api: RunyardAPI, all_: bool) -> None:
    """List your tokens, or with --all everyone's. Secrets are never shown again."""
    echo_table(
        api.list_tokens(all_),
        [
            ("ID", "id"),
            ("NAME", "name"),
            ("KIND", "kind"),
            ("OWNER", "principal"),
            ("CREATED", when("creation_time")),
            ("EXPIRES", when("expires_at")),
            ("REVOKED", "revoked"),
        ],
        "No tokens.",
    )


@token.command("revoke")
@click.argument("token_id", metavar="ID")
@api_command
def revoke(api: RunyardAPI, token_id: str) -> None:
    """Revoke token ID (from `runyard token list`); it stops working at once."""
    api.revoke_token(token_id)
    click.echo(f"Revoked token {token_id}.")


__all__ = ["token"]
