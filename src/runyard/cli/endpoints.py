"""``runyard endpoint`` and ``runyard deployment``: online endpoints on a Runyard server."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import click

from runyard.cli.connect import api_command, echo_secret, echo_table, when, workspace_option

if TYPE_CHECKING:
    from runyard.client.api import RunyardAPI

_R = "/api/2.0/runyard/endpoints"
_WS_HELP = "The workspace (default: the server's default workspace)."


def _ep(name: str) -> str:
    return f"{_R}/{quote(name, safe='')}"


def _dep(endpoint: str, name: str) -> str:
    return f"{_ep(endpoint)}/deployments/{quote(name, safe='')}"


def _shares(pairs: tuple[str, ...], what: str) -> dict[str, int]:
    """``("blue=90", "green=10")`` → {"blue": 90, "green": 10}."""
    out: dict[str, int] = {}
    for pair in pairs:
        for item in filter(None, pair.split(",")):
            name, sep, share = item.partition("=")
            if not sep or not share.strip().isdigit():
                raise click.BadParameter(
                    f"'{item}' is not DEPLOYMENT=PERCENT (e.g. blue=90).", param_hint=what
                )
            out[name.strip()] = int(share)
    return out


def _env(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"'{pair}' is not NAME=VALUE.", param_hint="--env")
        out[name] = value
    return out


def _percent(shares: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}%" for k, v in sorted(shares.items())) or "-"


def _show_endpoint(ep: dict[str, Any]) -> None:
    click.echo(f"Endpoint     {ep['name']}")
    click.echo(f"State        {ep['state']}" + (f"  ({ep['message']})" if ep.get("message") else ""))
    click.echo(f"Scoring URI  {ep['scoring_uri']}")
    click.echo(f"Traffic      {_percent(ep.get('traffic', {}))}")
    click.echo(f"Mirror       {_percent(ep.get('mirror', {}))}")
    if ep.get("description"):
        click.echo(f"Description  {ep['description']}")
    click.echo("")
    _deployment_table(
        ep.get("deployments", []),
        f"No deployments yet: `runyard deployment create NAME --endpoint {ep['name']} "
        "--model models:/MODEL/VERSION`.",
    )


def _deployment_table(rows: list[dict[str, Any]], empty: str) -> None:
    echo_table(
        rows,
        [
            ("DEPLOYMENT", "name"),
            ("MODEL", lambda d: f"{d['model_name']}/{d['model_version']}"),
            ("URI", "model_uri"),
            ("ENV", "env_manager"),
            ("STATE", "state"),
            ("RESTARTS", "restarts"),
            ("MESSAGE", "message"),
        ],
        empty,
    )


# -- runyard endpoint ---------------------------------------------------------------------
@click.group(short_help="Create, show, route and delete online endpoints.")
def endpoint() -> None:
    """Online endpoints: a scoring URL whose traffic is split over deployments.

    \b
    runyard endpoint create churn --workspace team-a
    runyard deployment create blue --endpoint churn --model models:/churn-model/3 -w team-a
    runyard endpoint traffic churn blue=90 green=10 --mirror green=20 -w team-a
    curl -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \\
         -d '{"dataframe_records": [{"x": 1}]}' $SERVER/w/team-a/endpoints/churn/invocations
    """


@endpoint.command("create")
@click.argument("name")
@click.option("--description", help="Free text shown with the endpoint.")
@workspace_option(required=False, help=_WS_HELP)
@api_command
def create(api: RunyardAPI, name: str, description: str | None, workspace: str | None) -> None:
    """Create endpoint NAME (owner) and print its two keys, once."""
    body = api.request("POST", _R, json={"name": name, "description": description}, workspace=workspace)
    click.echo(f"Endpoint {name} created; scoring URI {body['endpoint']['scoring_uri']}", err=True)
    echo_secret([f"primary key:   {body['primary_key']}", f"secondary key: {body['secondary_key']}"])


@endpoint.command("show")
@click.argument("name")
@workspace_option(required=False, help=_WS_HELP)
@api_command
def show(api: RunyardAPI, name: str, workspace: str | None) -> None:
    """Show endpoint NAME: state, scoring URI, traffic and deployments."""
    _show_endpoint(api.request("GET", _ep(name), workspace=workspace)["endpoint"])


@endpoint.command("list")
@workspace_option(required=False, help=_WS_HELP)
@api_command
def list_(api: RunyardAPI, workspace: str | None) -> None:
    """List the endpoints of the workspace."""
    echo_table(
        api.request("GET", _R, workspace=workspace).get("endpoints", []),
        [
            ("ENDPOINT", "name"),
            ("STATE", "state"),
            ("TRAFFIC", lambda e: _percent(e.get("traffic", {}))),
            ("MIRROR", lambda e: _percent(e.get("mirror", {}))),
            ("DEPLOYMENTS", lambda e: [d["name"] for d in e.get("deployments", [])]),
            ("CREATED", when("creation_time")),
        ],
        "No endpoints: create one with `runyard endpoint create NAME`.",
    )


@endpoint.command("traffic")
@click.argument("name")
@click.argument("shares", nargs=-1, metavar="[DEPLOYMENT=PERCENT]...")
@click.option("--mirror", multiple=True, metavar="DEPLOYMENT=PERCENT", help="Copy a share of live requests.")
@workspace_option(required=False, help=_WS_HELP)
@api_command
def traffic(
    api: RunyardAPI, name: str, shares: tuple[str, ...], mirror: tuple[str, ...], workspace: str | None
) -> None:
    """Split endpoint NAME's traffic, e.g. `blue=90 green=10` (shares add up to 100).

    Deployments left out get none. --mirror green=20 copies 20% of live requests to green
    (its answers are dropped); --mirror green=0 stops that.
    """
    body: dict[str, Any] = {}
    if shares:
        body["traffic"] = _shares(shares, "SHARES")
    if mirror:
        body["mirror"] = _shares(mirror, "--mirror")
    if not body:
        raise click.UsageError("Give the new split (e.g. blue=90 green=10), --mirror, or both.")
    ep = api.request("PATCH", _ep(name), json=body, workspace=workspace)["endpoint"]
    click.echo(f"{name}: traffic {_percent(ep['traffic'])}; mirror {_percent(ep['mirror'])}")


@endpoint.command("keys")
@click.argument("name")
@click.option(
    "--regenerate",
    type=click.Choice(["primary", "secondary"]),
    help="Replace this key; the old one stops working.",
)
@workspace_option(required=False, help=_WS_HELP)
@api_command
def keys(api: RunyardAPI, name: str, regenerate: str | None, workspace: str | None) -> None:
    """Show which keys endpoint NAME has (their last characters), or regenerate one (owner)."""
    if regenerate:
        body = api.request(
            "POST", f"{_ep(name)}/keys/regenerate", json={"key_type": regenerate}, workspace=workspace
        )
        echo_secret([f"{regenerate} key: {body['key']}"])
        return
    body = api.request("GET", f"{_ep(name)}/keys", workspace=workspace)
    click.echo(f"primary key:   {body['primary_key_hint']}")
    click.echo(f"secondary key: {body['secondary_key_hint']}")


@endpoint.command("logs")
@click.argument("name")
@click.option("--deployment", "-d", help="Only this deployment (default: all of them).")
@click.option(
    "--tail", type=click.IntRange(1, 10_000), default=100, show_default=True, help="Lines per deployment."
)
@workspace_option(required=False, help=_WS_HELP)
@api_command
def logs(api: RunyardAPI, name: str, deployment: str | None, tail: int, workspace: str | None) -> None:
    """Print the last log lines of endpoint NAME's scoring processes."""
    names = (
        [deployment]
        if deployment
        else [
            d["name"] for d in api.request("GET", _ep(name), workspace=workspace)["endpoint"]["deployments"]
        ]
    )
    for dep in names:
        lines = api.request("GET", f"{_dep(name, dep)}/logs", params={"tail": tail}, workspace=workspace)[
            "lines"
        ]
        if len(names) > 1:
            click.echo(f"==> {dep} <==")
        for line in lines:
            click.echo(line)


@endpoint.command("delete")
@click.argument("name")
@click.confirmation_option(prompt="Delete the endpoint and stop all its deployments?")
@workspace_option(required=False, help=_WS_HELP)
@api_command
def delete(api: RunyardAPI, name: str, workspace: str | None) -> None:
    """Delete endpoint NAME and stop its deployments (owner)."""
    api.request("DELETE", _ep(name), workspace=workspace)
    click.echo(f"Endpoint {name} deleted.")


# -- runyard deployment -------------------------------------------------------------------
_wait_option = click.option(
    "--wait",
    "wait_s",
    type=click.IntRange(0, 600),
    default=300,
    show_default=True,
    help="Seconds to wait until ready (0: return at once).",
)


def _endpoint_option(fn: Any) -> Any:
    return click.option(
        "--endpoint", "-e", "endpoint_name", required=True, metavar="ENDPOINT", help="The endpoint."
    )(fn)


@click.group(short_help="Deploy registered model versions behind an endpoint.")
def deployment() -> None:
    """Deployments: one registered model version running behind an endpoint."""


@deployment.command("create")
@click.argument("name")
@_endpoint_option
@click.option(
    "--model", "model_uri", required=True, metavar="URI", help="models:/NAME/VERSION or models:/NAME@ALIAS."
)
@click.option(
    "--env-manager",
    type=click.Choice(["local", "virtualenv"]),
    default="local",
    show_default=True,
    help="local: Runyard's own Python; virtualenv: built from the model's requirements (cached).",
)
@click.option(
    "--env", "env", multiple=True, metavar="NAME=VALUE", help="Environment variable for the scoring process."
)
@_wait_option
@workspace_option(required=False, help=_WS_HELP)
@api_command
def create_deployment(
    api: RunyardAPI,
    name: str,
    endpoint_name: str,
    model_uri: str,
    env_manager: str,
    env: tuple[str, ...],
    wait_s: int,
    workspace: str | None,
) -> None:
    """Deploy model version URI as deployment NAME of an endpoint (contributor)."""
    body = {
        "name": name,
        "model_uri": model_uri,
        "env_manager": env_manager,
        "environment": _env(env),
    }
    dep = api.request("POST", f"{_ep(endpoint_name)}/deployments", json=body, workspace=workspace)[
        "deployment"
    ]
    _report(_wait(api, dep, workspace, wait_s))


def _wait(api: RunyardAPI, dep: dict[str, Any], workspace: str | None, wait_s: int) -> dict[str, Any]:
    """Poll (each call waits server-side up to 10 s) until ready or failed, showing the state."""
    started = time.monotonic()
    deadline = started + wait_s
    path = _dep(dep["endpoint"], dep["name"])
    tty = sys.stderr.isatty()
    while dep["state"] not in ("ready", "failed") and time.monotonic() < deadline:
        line = f"{dep['endpoint']}/{dep['name']}: {dep['state']} ({time.monotonic() - started:.0f} s)"
        click.echo(f"\r{line}" if tty else line, err=True, nl=not tty)
        step = max(1, min(10, int(deadline - time.monotonic())))
        dep = api.request("GET", path, params={"wait_seconds": step}, workspace=workspace)["deployment"]
    if tty and wait_s:
        click.echo("", err=True)
    return dep


def _report(dep: dict[str, Any]) -> None:
    click.echo(
        f"{dep['endpoint']}/{dep['name']}: {dep['model_name']} version {dep['model_version']}, {dep['state']}"
    )
    if dep["state"] == "failed":
        raise click.ClickException(f"The deployment failed: {dep.get('message')}")


@deployment.command("update")
@click.argument("name")
@_endpoint_option
@click.option("--model", "model_uri", metavar="URI", help="Deploy this model version instead.")
@click.option("--env-manager", type=click.Choice(["local", "virtualenv"]))
@_wait_option
@workspace_option(required=False, help=_WS_HELP)
@api_command
def update_deployment(
    api: RunyardAPI,
    name: str,
    endpoint_name: str,
    model_uri: str | None,
    env_manager: str | None,
    wait_s: int,
    workspace: str | None,
) -> None:
    """Replace deployment NAME's model version or environment (contributor)."""
    body = {k: v for k, v in {"model_uri": model_uri, "env_manager": env_manager}.items() if v}
    dep = api.request("PATCH", _dep(endpoint_name, name), json=body, workspace=workspace)["deployment"]
    _report(_wait(api, dep, workspace, wait_s))


@deployment.command("list")
@_endpoint_option
@workspace_option(required=False, help=_WS_HELP)
@api_command
def list_deployments(api: RunyardAPI, endpoint_name: str, workspace: str | None) -> None:
    """List the deployments of an endpoint."""
    rows = api.request("GET", f"{_ep(endpoint_name)}/deployments", workspace=workspace).get("deployments", [])
    _deployment_table(rows, f"Endpoint {endpoint_name} has no deployments.")


@deployment.command("show")
@click.argument("name")
@_endpoint_option
@workspace_option(required=False, help=_WS_HELP)
@api_command
def show_deployment(api: RunyardAPI, name: str, endpoint_name: str, workspace: str | None) -> None:
    """Show deployment NAME of an endpoint."""
    _deployment_table([api.request("GET", _dep(endpoint_name, name), workspace=workspace)["deployment"]], "")


@deployment.command("delete")
@click.argument("name")
@_endpoint_option
@workspace_option(required=False, help=_WS_HELP)
@api_command
def delete_deployment(api: RunyardAPI, name: str, endpoint_name: str, workspace: str | None) -> None:
    """Stop and delete deployment NAME (it must take no traffic; move its traffic first)."""
    api.request("DELETE", _dep(endpoint_name, name), workspace=workspace)
    click.echo(f"Deployment {endpoint_name}/{name} deleted.")


__all__ = ["deployment", "endpoint"]
