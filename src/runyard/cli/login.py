"""``runyard login`` / ``logout`` / ``whoami``: sign in once, then mlflow and the CLI just work."""

from __future__ import annotations

import re
import socket
import time
from typing import TYPE_CHECKING

import click

from runyard.cli.connect import (
    api_command,
    echo_table,
    env_hint,
    friendly_errors,
    resolve_server,
    server_option,
)

if TYPE_CHECKING:
    from runyard.client.api import RunyardAPI


@click.command(short_help="Sign in with a code (or a token) and save the credential.")
@server_option
@click.option(
    "--token",
    "given_token",
    metavar="TOKEN",
    help="Save this personal access token (e.g. the first admin's, printed at first start) "
    "instead of signing in with a code.",
)
@click.option(
    "--expires-in-days",
    type=click.IntRange(1, 3650),
    default=90,
    show_default=True,
    help="Lifetime of the personal access token created for this machine.",
)
def login(server: str | None, given_token: str | None, expires_in_days: int) -> None:
    """Sign in to a Runyard server and save the credential in ~/.runyard (mode 0600).

    Shows a URL and a short code: open the URL in a browser where you are signed in to
    Runyard, approve the code, and this command finishes by itself. It then creates a
    personal access token named after this machine and caches it for the server, so the
    CLI and mlflow (with MLFLOW_TRACKING_AUTH=runyard) use it from then on.
    """
    from runyard.client import credentials, device
    from runyard.client.api import ApiError, RunyardAPI

    with friendly_errors():
        base = resolve_server(server)
        api = RunyardAPI(base)
        if given_token:
            api.token = given_token
            me = api.me()
            cred = credentials.Credential(
                base, given_token, principal=_name(me), expires_at=_pat_expiry(api, given_token)
            )
        else:
            code = device.start(api)
            click.echo(f"To sign in to {base}:")
            click.echo(f"  1. open {code.verification_uri_complete or code.verification_uri}")
            click.echo(f"  2. check that it shows the code  {code.user_code}  and approve it")
            click.echo(f"Waiting for approval (the code is valid for {code.expires_in / 60:.0f} minutes)...")
            granted = device.wait(api, code)
            api.token = granted.access_token
            me = api.me()
            try:
                created = api.create_token(_token_name(), expires_in_days)
            except ApiError as err:
                # Still signed in, just for the access token's lifetime.
                click.echo(
                    f"Could not create a personal access token ({err}); saving a short-lived one.", err=True
                )
                lifetime = granted.expires_in
                cred = credentials.Credential(
                    base,
                    granted.access_token,
                    principal=_name(me),
                    expires_at=time.time() + lifetime if lifetime else None,
                )
            else:
                info = created.get("token", {})
                cred = credentials.Credential(
                    base,
                    str(created["secret"]),
                    principal=_name(me),
                    expires_at=credentials.parse_time(info.get("expires_at")),
                    token_id=str(info["id"]) if info.get("id") is not None else None,
                )
        path = credentials.save(cred)
    admin = " (admin)" if me.get("principal", {}).get("is_admin") else ""
    click.echo(f"Signed in to {base} as {cred.principal}{admin}.")
    expiry = f"; it expires {credentials.format_time(cred.expires_at)}" if cred.expires_at else ""
    click.echo(f"Credential saved in {path}{expiry}.")
    click.echo("To use it from mlflow:")
    click.echo(f"  {env_hint('MLFLOW_TRACKING_URI', base)}")
    click.echo(f"  {env_hint('MLFLOW_TRACKING_AUTH', 'runyard')}")


@click.command(short_help="Forget (and revoke) the saved credential.")
@server_option
@click.option(
    "--keep-token", is_flag=True, help="Only forget it here; do not revoke the token on the server."
)
def logout(server: str | None, keep_token: bool) -> None:
    """Forget the saved credential for a server (and revoke the token `runyard login` made)."""
    from runyard.client import credentials
    from runyard.client.api import ApiError, RunyardAPI, ServerUnreachable

    with friendly_errors():
        base = resolve_server(server)
        cred = credentials.get(base)
        if cred is None:
            click.echo(f"Not signed in to {base}.")
            return
        if cred.token_id and not keep_token and not cred.expired():
            try:
                RunyardAPI(base, cred.token).revoke_token(cred.token_id)
            except (ApiError, ServerUnreachable) as err:
                click.echo(f"Could not revoke the token on the server: {err}", err=True)
        credentials.remove(base)
    click.echo(f"Signed out of {base}.")


@click.command()
@api_command
def whoami(api: RunyardAPI) -> None:
    """Show who the server thinks you are, and your workspaces."""
    me = api.me()
    principal = me.get("principal", {})
    admin = ", admin" if principal.get("is_admin") else ""
    click.echo(f"{principal.get('name')} ({principal.get('kind', 'user')}{admin}) on {api.server}")
    echo_table(me.get("workspaces", []), [("WORKSPACE", "name"), ("ROLE", "role")], "No workspaces.")


def _name(me: dict) -> str | None:
    return me.get("principal", {}).get("name")


def _pat_expiry(api: RunyardAPI, token: str) -> float | None:
    """When a personal access token (``ryd_pat_<id>_...``) expires, from the owner's token list."""
    from runyard.client import credentials
    from runyard.client.api import ApiError

    m = re.match(r"ryd_pat_([0-9a-f]+)_", token)
    if not m:
        return None
    try:
        mine = api.list_tokens()
    except ApiError:
        return None
    found = next((t for t in mine if t.get("id") == m.group(1)), None)
    return credentials.parse_time(found.get("expires_at")) if found else None


def _token_name() -> str:
    host = re.sub(r"[^A-Za-z0-9.-]+", "-", socket.gethostname())[:40].strip("-") or "host"
    return f"login-{host}-{time.strftime('%Y%m%d-%H%M%S')}"


__all__ = ["login", "logout", "whoami"]
