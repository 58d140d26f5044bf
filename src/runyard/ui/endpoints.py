"""Online endpoint pages: deployments, traffic split, health, request counts and latencies.

Health comes from the runner (each deployment's scoring process); request counts and
latencies are this replica's counters since it started (the same figures as
``GET /api/2.0/runyard/endpoints/<name>/metrics``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from runyard.ui.web import Ctx


@dataclass
class DeploymentView:
    name: str
    model_name: str
    model_version: int
    model_uri: str
    state: str
    message: str | None
    restarts: int
    traffic: int
    mirror: int
    created_by: str | None
    creation_time: int
    stats: list[dict[str, Any]] = field(default_factory=list)  # live traffic, then mirrored

    @property
    def requests(self) -> int:
        return sum(int(s["request_count"]) for s in self.stats if not s["mirror"])


@dataclass
class EndpointView:
    name: str
    description: str | None
    scoring_uri: str
    state: str
    message: str | None
    deployments: list[DeploymentView]
    router_stats: list[dict[str, Any]]  # requests the router answered itself (413, 503...)
    created_by: str | None
    creation_time: int
    key_hints: tuple[str, str]

    @property
    def requests(self) -> int:
        refused = sum(int(s["request_count"]) for s in self.router_stats)
        return sum(d.requests for d in self.deployments) + refused


def _state(deployments: list[DeploymentView]) -> tuple[str, str | None]:
    """One word for the endpoint, from the deployments that take its live traffic."""
    live = [d for d in deployments if d.traffic]
    if not live:
        return "no_traffic", "No deployment takes traffic: set it with `runyard endpoint traffic`."
    failed = [d for d in live if d.state == "failed"]
    if failed:
        return "failed", "; ".join(f"deployment '{d.name}' failed: {d.message}" for d in failed)
    if all(d.state == "ready" for d in live):
        return "ready", None
    return ("degraded" if any(d.state == "ready" for d in live) else "starting"), None


def _view(ctx: Ctx, ep: Any) -> EndpointView:
    svc = ctx.services.endpoints
    stats = svc.metrics_snapshot(ctx.ws, ep)
    deployments = []
    for dep in ep.deployments:
        status = svc.status(dep)
        deployments.append(
            DeploymentView(
                dep.name, dep.model_name, dep.model_version, dep.model_uri, status.state, status.message,
                status.restarts, ep.traffic.get(dep.name, 0), ep.mirror.get(dep.name, 0), dep.created_by,
                dep.creation_time, [s for s in stats if s["deployment"] == dep.name],
            )
        )  # fmt: skip
    state, message = _state(deployments)
    uri = f"{ctx.base_url()}/w/{quote(ctx.ws.name, safe='')}/endpoints/{quote(ep.name, safe='')}/invocations"
    return EndpointView(
        ep.name, ep.description, uri, state, message, deployments,
        [s for s in stats if not s["deployment"]], ep.created_by, ep.creation_time,
        (ep.primary_key_hint, ep.secondary_key_hint),
    )  # fmt: skip


def endpoints(ctx: Ctx) -> Response:
    found = [_view(ctx, ep) for ep in ctx.services.endpoints.list(ctx.ws)]
    return ctx.render("endpoints.html", endpoints=found)


def endpoint(ctx: Ctx) -> Response:
    ep = ctx.services.endpoints.get(ctx.ws, ctx.request.path_params["name"])
    return ctx.render("endpoint.html", ep=_view(ctx, ep))


__all__ = ["endpoint", "endpoints"]
