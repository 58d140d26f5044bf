"""``runyard audit``: who changed access, made tokens, deleted experiments or models."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from runyard.cli.connect import api_command, echo_table, when, workspace_option

if TYPE_CHECKING:
    from runyard.client.api import RunyardAPI


@click.command()
@workspace_option(required=False, help="The workspace (needs owner there). Without it, an admin sees all.")
@click.option(
    "--max-results", type=click.IntRange(1, 1000), default=50, show_default=True, help="Events per page."
)
@click.option("--page-token", help="Continue from where the previous page ended.")
@api_command
def audit(api: RunyardAPI, workspace: str | None, max_results: int, page_token: str | None) -> None:
    """Show the audit log, newest first."""
    out = api.audit(workspace, max_results, page_token)
    echo_table(
        out.get("entries", []),
        [
            ("TIME", when("time")),
            ("ACTOR", "actor"),
            ("ACTION", "action"),
            ("WORKSPACE", "workspace"),
            ("TARGET", "target"),
            ("DETAILS", "details"),
        ],
        "No audit events.",
    )
    if out.get("next_page_token"):
        click.echo(f"More: runyard audit --page-token {out['next_page_token']}", err=True)


__all__ = ["audit"]
