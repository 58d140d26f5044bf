"""What the admin commands share: ``--server``/``--token``, friendly errors and tables.

The client modules are imported inside the functions so that ``runyard server`` never pays
for (or needs) ``requests``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click

DEFAULT_SERVER = "http://127.0.0.1:5000"


def resolve_server(server: str | None) -> str:
    """--server / RUNYARD_SERVER, else the last `runyard login`, else the local default."""
    from runyard.client import credentials

    if server:
        return credentials.server_base(server)
    try:
        return credentials.default_server() or DEFAULT_SERVER
    except credentials.CredentialsError:
        return DEFAULT_SERVER


def resolve_token(server: str, token: str | None, token_from_command_line: bool) -> str | None:
    """--token on the command line wins; otherwise the plugin's order (service principal
    environment, RUNYARD_TOKEN, the credential cache)."""
    from runyard.client import auth, credentials

    if token and token_from_command_line:
        return token
    found = auth.bearer_token(server)
    if found is None:
        cached = credentials.get(server)
        if cached is not None and cached.expired():
            raise click.ClickException(
                f"Your login to {server} expired on {credentials.format_time(cached.expires_at)}. "
                f"Run `runyard login --server {server}`."
            )
    return found


def server_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--server",
        envvar="RUNYARD_SERVER",
        metavar="URL",
        help=f"Runyard server [env RUNYARD_SERVER; default: last `runyard login`, else {DEFAULT_SERVER}].",
    )(fn)


def api_command(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Adds --server and --token and passes a connected ``api`` to the command."""

    @click.option(
        "--token",
        envvar="RUNYARD_TOKEN",
        metavar="TOKEN",
        help="Access token [env RUNYARD_TOKEN; default: the credential saved by `runyard login`].",
    )
    @server_option
    @functools.wraps(fn)
    def wrapper(server: str | None, token: str | None, **kwargs: Any) -> Any:
        from runyard.client.api import RunyardAPI

        ctx = click.get_current_context()
        from_cli = ctx.get_parameter_source("token") == click.core.ParameterSource.COMMANDLINE
        with friendly_errors():
            base = resolve_server(server)
            api = RunyardAPI(base, resolve_token(base, token, from_cli))
            return fn(api, **kwargs)

    return wrapper


class friendly_errors:
    """Turns client failures into one-line ``Error: ...`` messages and exit status 1."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, _tb: object) -> bool:
        if exc is None:
            return False
        from runyard.client.api import ApiError, ServerUnreachable
        from runyard.client.auth import RunyardAuthError
        from runyard.client.credentials import CredentialsError
        from runyard.client.device import DeviceFlowError

        if isinstance(
            exc, (ApiError, ServerUnreachable, RunyardAuthError, CredentialsError, DeviceFlowError)
        ):
            raise click.ClickException(str(exc)) from None
        return False


def workspace_option(required: bool = True, help: str = "The workspace.") -> Callable[[Any], Any]:
    return click.option(
        "--workspace",
        "-w",
        envvar="RUNYARD_WORKSPACE",
        required=required,
        metavar="NAME",
        help=f"{help} [env RUNYARD_WORKSPACE]",
    )


def echo_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[tuple[str, str | Callable[[dict[str, Any]], Any]]],
    empty: str,
) -> None:
    """Print ``rows`` as aligned columns (header, rule, one line per row), or ``empty``."""
    if not rows:
        click.echo(empty)
        return
    cells = [[_cell(row, get) for _, get in columns] for row in rows]
    headers = [title for title, _ in columns]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    for line in (headers, ["-" * w for w in widths], *cells):
        click.echo("  ".join(text.ljust(w) for text, w in zip(line, widths, strict=True)).rstrip())


def _cell(row: dict[str, Any], get: str | Callable[[dict[str, Any]], Any]) -> str:
    value = get(row) if callable(get) else row.get(get)
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def when(key: str) -> Callable[[dict[str, Any]], str | None]:
    """A table column showing a timestamp field as ``YYYY-MM-DD HH:MM UTC``."""
    from runyard.client.credentials import format_time, parse_time

    def get(row: dict[str, Any]) -> str | None:
        try:
            moment = parse_time(row.get(key))
        except ValueError:
            return str(row.get(key))
        return None if moment is None else format_time(moment)

    return get


def echo_secret(lines: Iterable[str]) -> None:
    """Secrets go to stdout only (scripts capture them), once, with a reminder."""
    for line in lines:
        click.echo(line)
    click.echo("Store this now: the server keeps only a hash and will never show it again.", err=True)


def env_hint(name: str, value: str) -> str:
    return f"set {name}={value}" if os.name == "nt" else f"export {name}={value}"


__all__ = [
    "DEFAULT_SERVER",
    "api_command",
    "echo_secret",
    "echo_table",
    "env_hint",
    "friendly_errors",
    "resolve_server",
    "resolve_token",
    "server_option",
    "when",
    "workspace_option",
]
