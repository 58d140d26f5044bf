"""Scoring through an endpoint: ``POST /w/<ws>/endpoints/<name>/invocations`` (and ``/score``).

A caller authenticates with one of the endpoint's keys (``Authorization: Bearer <key>`` or
the ``api-key`` header, as Azure ML clients send it) or with a workspace token that has at
least the reader role. The endpoint's traffic split and the ready scoring processes become
a ``Route`` for the serving router, which picks a deployment, forwards the body and records
the request. ``GET /metrics`` renders those records in Prometheus text format.
"""

from __future__ import annotations

import logging
import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from runyard.api.call import Access
from runyard.api.call import Route as ApiRoute
from runyard.api.router import error_response
from runyard.auth.gate import AccessGate
from runyard.config import Settings
from runyard.entities import DEFAULT_WORKSPACE, Workspace
from runyard.errors import NotFound, RunyardError, Unauthenticated
from runyard.services import Services
from runyard.services.endpoint_rules import KEY_PREFIX, endpoint_not_found
from runyard.services.endpoints import EndpointService
from runyard.serving.router import EndpointRouter, Route, pinned_from


async def _nothing(_call: object) -> Response:  # the gate needs a route; it never runs
    raise AssertionError("not called")


log = logging.getLogger("runyard.endpoints")

# What the gate checks for a token (not a key): reader role in the workspace, or more.
_SCORE = ApiRoute("POST", "/invocations", _nothing, None, Access.READ, raw=True)
_METRICS = ApiRoute("GET", "/metrics", _nothing, None, Access.ADMIN, raw=True)
# The POST paths of routes() below, as Starlette's "{name}" parameters match them.
_SCORING_PATH = re.compile(
    r"(?:/w/(?P<workspace>[^/]+))?/endpoints/(?P<endpoint>[^/]+)/(?:invocations|score)"
)


class PayloadTooLarge(RunyardError):
    error_code = "REQUEST_LIMIT_EXCEEDED"  # as the serving router answers
    http_status = 413


def _bad_key(endpoint: str, workspace: str) -> Unauthenticated:
    return Unauthenticated(
        f"The key is not valid for endpoint '{endpoint}' in workspace '{workspace}'. Use its primary or "
        "secondary key (an owner can show hints and regenerate them with `runyard endpoint keys`), "
        "or a workspace token."
    )


def _presented_key(request: Request) -> str | None:
    key = request.headers.get("api-key")
    if key:
        return key.strip()
    scheme, _, value = (request.headers.get("authorization") or "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value.startswith(KEY_PREFIX):
        return value
    return None


class Invocations:
    def __init__(
        self, services: Services, gate: AccessGate, router: EndpointRouter, max_body_bytes: int
    ) -> None:
        self._services = services
        self._endpoints: EndpointService = services.endpoints
        self._gate = gate
        self._router = router
        self._max_body = max_body_bytes

    @classmethod
    def build(cls, services: Services, gate: AccessGate, settings: Settings) -> Invocations:
        max_body = settings.serving_max_body_mb * 1024 * 1024
        router = EndpointRouter(
            services.endpoints.metrics, max_body_bytes=max_body, timeout_s=settings.serving_timeout_s
        )
        return cls(services, gate, router, max_body)

    def start(self) -> None:
        """Hand every stored deployment to the runner again (in the background) and keep watching."""
        self._endpoints.start()

    async def aclose(self) -> None:
        await self._router.aclose()

    def routes(self) -> list[StarletteRoute]:
        prefixed = "/w/{workspace}/endpoints/{endpoint}"
        return [
            StarletteRoute(f"{prefixed}/invocations", self.invoke, methods=["POST"]),
            StarletteRoute(f"{prefixed}/score", self.invoke, methods=["POST"]),
            StarletteRoute("/endpoints/{endpoint}/invocations", self.invoke, methods=["POST"]),
            StarletteRoute("/endpoints/{endpoint}/score", self.invoke, methods=["POST"]),
            StarletteRoute("/metrics", self.prometheus, methods=["GET"]),
        ]

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """An ASGI app sending scoring POSTs straight to ``invoke`` and everything else to ``app``.

        Scoring is the hot path: skipping the API router and Starlette's middleware and route
        walk saves a good part of what the router adds to a model's latency.
        """

        async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["method"] == "POST":
                m = _SCORING_PATH.fullmatch(scope["path"])
                if m is not None:
                    params = m.groupdict()
                    if params["workspace"] is None:
                        del params["workspace"]
                    scope["path_params"] = params
                    response = await self.invoke(Request(scope, receive))
                    await response(scope, receive, send)
                    return
            await app(scope, receive, send)

        return asgi

    async def invoke(self, request: Request) -> Response:
        try:
            return await self._invoke(request)
        except RunyardError as err:
            return error_response(err)
        except Exception:
            log.exception("unhandled error scoring %s", request.url.path)
            return error_response(RunyardError("Internal server error; see the server log."))

    async def _invoke(self, request: Request) -> Response:
        name = request.path_params["endpoint"]
        ws_name = (
            request.path_params.get("workspace")
            or request.headers.get("x-mlflow-workspace")
            or DEFAULT_WORKSPACE
        )
        key = _presented_key(request)
        if key is not None:
            ws = self._key_workspace(ws_name, name)
        else:
            ws = (await self._gate.resolve(request, ws_name, _SCORE)).workspace
        ep = self._endpoints.peek(ws, name)
        if ep is False:
            ep = await run_in_threadpool(self._endpoints.cached, ws, name)
        if ep is None or (key is not None and not self._endpoints.key_matches(ep, key)):
            raise _bad_key(name, ws.name) if key is not None else endpoint_not_found(name, ws)
        route = Route(
            endpoint=ep.name,
            traffic=ep.traffic,
            mirror=ep.mirror,
            upstreams=self._endpoints.upstreams(ep),
            workspace=ws.name,
            deployments=frozenset(d.name for d in ep.deployments),
        )
        body = await self._body(request, ep.name)
        content_type = request.headers.get("content-type", "application/json")
        answer = await self._router.invoke(route, body, content_type, pinned=pinned_from(request.headers))
        headers = answer.headers()
        return Response(
            answer.body, status_code=answer.status, media_type=answer.content_type, headers=headers
        )

    async def _body(self, request: Request, endpoint: str) -> bytes:
        """The request body, refused (413) as soon as it is known to be too large."""
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > self._max_body:
            raise self._too_large(endpoint)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self._max_body:
                raise self._too_large(endpoint)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, endpoint: str) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"The request body is larger than {self._max_body} bytes, the most endpoint '{endpoint}' "
            "accepts (setting serving_max_body_mb)."
        )

    def _key_workspace(self, ws_name: str, endpoint: str) -> Workspace:
        try:
            return self._services.workspaces.resolve(ws_name)
        except NotFound:
            raise _bad_key(endpoint, ws_name) from None

    async def prometheus(self, request: Request) -> Response:
        if self._gate.enabled:
            try:
                await self._gate.resolve(request, None, _METRICS)
            except RunyardError as err:
                return error_response(err)
        text = self._endpoints.metrics.render_prometheus()
        return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")


__all__ = ["Invocations"]
