"""``runyard role``: who may do what in a workspace."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from runyard.cli.connect import api_command, echo_table, when, workspace_option

if TYPE_CHECKING:
    from runyard.client.api import RunyardAPI


ROLES = ("reader", "contributor", "owner")


@click.group(short_help="Grant, revoke and list roles in a workspace.")
def role() -> None:
    """Grant, revoke and list roles in a workspace (needs owner there, or admin).

    \b
    reader       read experiments, runs, models and artifacts
    contributor  reader + write tracking and the model registry
    owner        contributor + manage members and service principals
    """


@role.command("grant")
@click.argument("principal")
@click.argument("role_name", metavar="ROLE", type=click.Choice(ROLES))
@workspace_option()
@api_command
def grant(api: RunyardAPI, principal: str, role_name: str, workspace: str) -> None:
    """Give PRINCIPAL (a user or service principal) ROLE in the workspace, replacing any other."""
    api.grant(workspace, principal, role_name)
    click.echo(f"{principal} is now {role_name} in {workspace}.")


@role.command("revoke")
@click.argument("principal")
@workspace_option()
@api_command
def revoke(api: RunyardAPI, principal: str, workspace: str) -> None:
    """Remove PRINCIPAL's role in the workspace."""
    api.revoke(workspace, principal)
    click.echo(f"{principal} no longer has a role in {workspace}.")


@role.command("list")
@workspace_option()
@api_command
def list_(api: RunyardAPI, workspace: str) -> None:
    """List the members of the workspace and their roles."""
    echo_table(
        api.list_members(workspace),
        [("PRINCIPAL", "principal"), ("KIND", "kind"), ("ROLE", "role"), ("SINCE", when("creation_time"))],
        f"No members in {workspace}.",
    )


__all__ = ["ROLES", "role"]
