"""The endpoint router: picks a deployment by weight (or the pinned one), mirrors, forwards, measures.

Stateless apart from pooled connections and metrics: the control plane hands it a ``Route`` (the
endpoint's traffic, mirror shares and ready upstreams) with every request, so replicas agree.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from runyard.errors import error_body
from runyard.serving.metrics import ServingMetrics
from runyard.serving.upstream import ConnectFailed, UpstreamError, UpstreamPool, UpstreamTimeout

DEPLOYMENT_HEADER = "X-Runyard-Deployment"
# Azure ML's pinning header, accepted too so that existing clients work unchanged.
PIN_HEADERS = ("x-runyard-deployment", "azureml-model-deployment")
JSON = "application/json"


@dataclass(frozen=True)
class Route:
    """What the router needs to know about one endpoint, fresh for each request."""

    endpoint: str
    traffic: Mapping[str, int]  # deployment → weight (sum 100, or all zero = no traffic)
    mirror: Mapping[str, int]  # deployment → percent of live requests copied (answers dropped)
    upstreams: Mapping[str, str]  # deployment → base URL of its scoring process (ready ones only)
    workspace: str | None = None  # metrics label only
    # Every deployment of the endpoint, ready or not: tells "unknown" (404) from "not ready" (503)
    # for a pinned request. Defaults to the names in traffic, mirror and upstreams.
    deployments: frozenset[str] = field(default_factory=frozenset)

    def known(self) -> set[str]:
        return set(self.deployments) | set(self.traffic) | set(self.mirror) | set(self.upstreams)


@dataclass(frozen=True)
class RouterResponse:
    status: int
    body: bytes
    content_type: str
    deployment: str | None  # who answered; None when the router answered itself

    def headers(self) -> dict[str, str]:
        """Headers the HTTP layer should add: ``X-Runyard-Deployment`` when a deployment answered."""
        return {DEPLOYMENT_HEADER: self.deployment} if self.deployment else {}


def pinned_from(headers: Mapping[str, str]) -> str | None:
    """The pinned deployment named by a request's headers (case-insensitive mapping), if any."""
    for name in PIN_HEADERS:
        value = headers.get(name)
        if value and value.strip():
            return value.strip()
    return None


class _Unreachable(Exception):
    def __init__(self, response: RouterResponse) -> None:
        super().__init__(response.status)
        self.response = response


def _error(status: int, code: str, message: str) -> RouterResponse:
    body = json.dumps(error_body(code, message)).encode()
    return RouterResponse(status, body, JSON, None)


class EndpointRouter:
    """Forwards scoring requests to deployments over pooled keep-alive connections."""

    def __init__(
        self,
        metrics: ServingMetrics,
        *,
        max_body_bytes: int,
        timeout_s: float,
        rng: random.Random | None = None,
        max_mirror_in_flight: int = 256,
    ) -> None:
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.timeout_s = timeout_s
        self.rng = rng or random.Random()
        self.max_mirror_in_flight = max_mirror_in_flight
        self.mirrors_dropped = 0  # copies not sent because too many were already in flight
        self._pool: UpstreamPool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._mirrors: set[asyncio.Task[None]] = set()

    def _http(self) -> UpstreamPool:
        # A pool belongs to the event loop that opened its connections; a new loop gets a new pool.
        loop = asyncio.get_running_loop()
        if self._pool is None or self._loop is not loop:
            self._pool = UpstreamPool(timeout_s=self.timeout_s)
            self._loop = loop
        return self._pool

    def choose(self, route: Route) -> str | None:
        """A ready deployment, by weight; a deployment that is not ready passes its share on."""
        ready = [(name, w) for name, w in route.traffic.items() if w > 0 and name in route.upstreams]
        total = sum(w for _, w in ready)
        if total <= 0:
            return None
        point = self.rng.random() * total
        for name, weight in ready:
            point -= weight
            if point < 0:
                return name
        return ready[-1][0]

    async def invoke(
        self, route: Route, body: bytes, content_type: str, *, pinned: str | None = None
    ) -> RouterResponse:
        started = time.perf_counter()
        if len(body) > self.max_body_bytes:
            response = _error(
                413,
                "REQUEST_LIMIT_EXCEEDED",
                f"the request body is {len(body)} bytes; endpoint '{route.endpoint}' accepts at most "
                f"{self.max_body_bytes} bytes",
            )
        elif pinned is not None:
            response = await self._pinned(route, body, content_type, pinned)
        else:
            name = self.choose(route)
            if name is None:
                response = _error(
                    503,
                    "TEMPORARILY_UNAVAILABLE",
                    f"endpoint '{route.endpoint}' has no ready deployment with traffic "
                    f"(traffic: {dict(route.traffic) or 'none'}; ready: {sorted(route.upstreams) or 'none'})",
                )
            else:
                self._mirror(route, body, content_type, answered_by=name)
                try:
                    response = await self._forward(route, name, body, content_type)
                except _Unreachable as exc:
                    response = await self._failover(route, name, body, content_type, exc)
        self.metrics.record(
            route.endpoint,
            response.deployment,
            response.status,
            time.perf_counter() - started,
            workspace=route.workspace,
        )
        return response

    async def _pinned(self, route: Route, body: bytes, content_type: str, name: str) -> RouterResponse:
        if name not in route.known():
            return _error(
                404,
                "RESOURCE_DOES_NOT_EXIST",
                f"endpoint '{route.endpoint}' has no deployment '{name}'; it has: "
                f"{', '.join(sorted(route.known())) or 'none'}",
            )
        if name not in route.upstreams:
            return _error(503, "TEMPORARILY_UNAVAILABLE", f"deployment '{name}' is not ready")
        self._mirror(route, body, content_type, answered_by=name)
        try:
            return await self._forward(route, name, body, content_type)
        except _Unreachable as exc:
            return exc.response

    async def _failover(
        self, route: Route, failed: str, body: bytes, content_type: str, exc: _Unreachable
    ) -> RouterResponse:
        """One more try on another ready deployment: the request never reached the first one.

        A deployment that just crashed is still in the caller's list of ready upstreams until its
        status catches up; its share should not fail meanwhile.
        """
        rest = {k: v for k, v in route.upstreams.items() if k != failed}
        other = self.choose(replace(route, upstreams=rest))
        if other is None:
            return exc.response
        try:
            return await self._forward(route, other, body, content_type)
        except _Unreachable as again:
            return again.response

    async def _forward(self, route: Route, name: str, body: bytes, content_type: str) -> RouterResponse:
        try:
            r = await self._http().post(route.upstreams[name], "/invocations", body, content_type)
        except UpstreamTimeout:
            response = _error(
                504,
                "DEADLINE_EXCEEDED",
                f"deployment '{name}' did not answer within {self.timeout_s:g} s",
            )
            return replace(response, deployment=name)
        except ConnectFailed as exc:
            # Nothing was sent, so another deployment may safely take the request.
            response = _error(503, "TEMPORARILY_UNAVAILABLE", f"deployment '{name}' is unreachable: {exc}")
            raise _Unreachable(replace(response, deployment=name)) from None
        except UpstreamError as exc:
            message = f"deployment '{name}' failed mid-request: {exc}"
            response = _error(503, "TEMPORARILY_UNAVAILABLE", message)
            return replace(response, deployment=name)
        return RouterResponse(r.status, r.body, r.headers.get("content-type", JSON), name)

    def _mirror(self, route: Route, body: bytes, content_type: str, *, answered_by: str) -> None:
        """Fire-and-forget copies: scheduled before the live call, never awaited by it."""
        for name, percent in route.mirror.items():
            if name == answered_by or name not in route.upstreams or percent <= 0:
                continue
            if self.rng.random() * 100 >= percent:
                continue
            if len(self._mirrors) >= self.max_mirror_in_flight:
                self.mirrors_dropped += 1
                continue
            task = asyncio.get_running_loop().create_task(self._copy(route, name, body, content_type))
            self._mirrors.add(task)
            task.add_done_callback(self._mirrors.discard)

    async def _copy(self, route: Route, name: str, body: bytes, content_type: str) -> None:
        started = time.perf_counter()
        try:
            status = (
                await self._http().post(route.upstreams[name], "/invocations", body, content_type)
            ).status
        except UpstreamTimeout:
            status = 504
        except Exception:  # noqa: BLE001 - a broken mirror must never surface anywhere but its metrics
            status = 503
        self.metrics.record(
            route.endpoint,
            name,
            status,
            time.perf_counter() - started,
            workspace=route.workspace,
            mirror=True,
        )

    async def drain_mirrors(self, timeout_s: float | None = None) -> None:
        """Wait for in-flight mirror copies (tests, graceful shutdown)."""
        if self._mirrors:
            await asyncio.wait(set(self._mirrors), timeout=timeout_s)

    async def aclose(self) -> None:
        for task in list(self._mirrors):
            task.cancel()
        if self._mirrors:
            await asyncio.wait(set(self._mirrors), timeout=5)
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
