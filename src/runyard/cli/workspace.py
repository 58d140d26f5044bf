"""``runyard workspace``: create and list workspaces."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from runyard.cli.connect import api_command, echo_table

if TYPE_CHECKING:
    from runyard.client.api import RunyardAPI


@click.group(short_help="Create and list workspaces.")
def workspace() -> None:
    """Create and list workspaces (creating one needs an admin)."""


@workspace.command("create")
@click.argument("name")
@click.option("--description", help="A line saying what the workspace is for.")
@api_command
def create(api: RunyardAPI, name: str, description: str | None) -> None:
    """Create workspace NAME; grant people roles in it with `runyard role grant`."""
    ws = api.create_workspace(name, description)
    click.echo(f"Created workspace {ws.get('name', name)}.")
    click.echo(f"Its tracking URI: {api.server}/w/{ws.get('name', name)}")


@workspace.command("list")
@api_command
def list_(api: RunyardAPI) -> None:
    """List the workspaces you can see."""
    echo_table(
        sorted(api.list_workspaces(), key=lambda w: w.get("name", "")),
        [("NAME", "name"), ("DESCRIPTION", "description")],
        "No workspaces.",
    )


__all__ = ["workspace"]
