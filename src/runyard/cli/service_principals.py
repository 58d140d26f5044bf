"""``runyard sp``: service principals, the identities of jobs (Spark, CI) with no person around."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from runyard.cli.connect import api_command, echo_secret, echo_table, env_hint, when, workspace_option
from runyard.cli.roles import ROLES

if TYPE_CHECKING:
    from runyard.client.api import RunyardAPI


@click.group("sp", short_help="Service principals (for jobs): create, list, delete.")
def service_principal() -> None:
    """Create, list and delete service principals of a workspace (needs owner there, or admin)."""


@service_principal.command("create")
@click.argument("name")
@workspace_option()
@click.option(
    "--role", "role_name", type=click.Choice(ROLES), required=True, help="Its role in the workspace."
)
@api_command
def create(api: RunyardAPI, name: str, workspace: str, role_name: str) -> None:
    """Create service principal NAME and print its client id and secret (shown only once).

    A job uses them with the mlflow plugin: MLFLOW_TRACKING_AUTH=runyard plus
    RUNYARD_CLIENT_ID and RUNYARD_CLIENT_SECRET in its environment.
    """
    out = api.create_service_principal(workspace, name, role_name)
    click.echo(f"Created service principal {name} ({role_name} in {workspace}).", err=True)
    echo_secret(
        [
            f"client_id:     {out['client_id']}",
            f"client_secret: {out['client_secret']}",
        ]
    )
    click.echo("A job's environment then needs:", err=True)
    for key, value in (
        ("MLFLOW_TRACKING_URI", f"{api.server}/w/{workspace}"),
        ("MLFLOW_TRACKING_AUTH", "runyard"),
        ("RUNYARD_CLIENT_ID", out["client_id"]),
        ("RUNYARD_CLIENT_SECRET", "<the secret above>"),
    ):
        click.echo(f"  {env_hint(key, value)}", err=True)


@service_principal.command("list")
@workspace_option()
@api_command
def list_(api: RunyardAPI, workspace: str) -> None:
    """List the workspace's service principals."""
    echo_table(
        api.list_service_principals(workspace),
        [
            ("NAME", "name"),
            ("CLIENT ID", "client_id"),
            ("ROLE", "role"),
            ("CREATED BY", "created_by"),
            ("CREATED", when("creation_time")),
        ],
        f"No service principals in {workspace}.",
    )


@service_principal.command("delete")
@click.argument("name")
@workspace_option()
@api_command
def delete(api: RunyardAPI, name: str, workspace: str) -> None:
    """Delete service principal NAME; its secret and tokens stop working at once."""
    api.delete_service_principal(workspace, name)
    click.echo(f"Deleted service principal {name}.")


__all__ = ["service_principal"]
