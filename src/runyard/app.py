"""create_app(settings) → the ASGI app. The one place that wires the pieces together."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route as StarletteRoute
from starlette.types import ASGIApp

from runyard import __version__
from runyard.api.call import Call, Route
from runyard.api.invocations import Invocations
from runyard.api.router import ApiRouter
from runyard.api.routes import routes
from runyard.auth import auth_enabled
from runyard.auth.bootstrap import bootstrap_first_admin, server_url
from runyard.auth.gate import AccessGate
from runyard.batch.jobs import BatchRunner
from runyard.config import Settings
from runyard.errors import error_body
from runyard.services import Services, build_services
from runyard.store.sql.engine import Database, redact_url
from runyard.store.sql.migrate import ensure_schema
from runyard.ui import ui_routes

log = logging.getLogger("runyard")


class RunyardApp:
    """The ASGI app plus the services behind it (tests reach ``.services`` directly)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        auth_on = auth_enabled(settings)  # refuses an insecure configuration before anything starts
        self.db = Database(
            settings.backend_store_uri,
            pool_size=settings.db_pool_size,
            statement_timeout_ms=settings.statement_timeout_ms,
        )
        ensure_schema(self.db)
        self.services: Services = build_services(settings, self.db)
        self.services.workspaces.ensure_default()
        if auth_on:
            bootstrap_first_admin(self.services.access, server_url(settings.host, settings.port))
        self.gate = AccessGate(self.services, auth_on)
        # Runs the batch jobs submitted through the API, each in its own child process.
        self.batch_runner = BatchRunner(
            self.services.batch_jobs, settings.host, settings.port, settings.batch_concurrency
        )
        self.services.batch_jobs.on_submit = self.batch_runner.wake
        # Online endpoints: scoring requests go through the router to the deployments' processes.
        self.invocations = Invocations.build(self.services, self.gate, settings)
        self._router = ApiRouter(routes(), self._resolve_call, self._starlette())
        # Scoring POSTs go straight to the invocations handler (the hot path); the rest as routed.
        self._asgi: ASGIApp = self.invocations.wrap(self._router)

    async def _resolve_call(self, request: Request, workspace: str | None, route: Route) -> Call:
        return await self.gate.resolve(request, workspace, route)

    def _starlette(self) -> Starlette:
        async def health(_request: Request) -> PlainTextResponse:
            return PlainTextResponse("OK")

        async def version(_request: Request) -> PlainTextResponse:
            return PlainTextResponse(__version__)

        async def not_found(_request: Request, _exc: Exception) -> JSONResponse:
            body = error_body("ENDPOINT_NOT_FOUND", f"No page at {_request.url.path}.")
            return JSONResponse(body, status_code=404)

        @contextlib.asynccontextmanager
        async def lifespan(_app: Starlette) -> AsyncIterator[None]:
            # Everything loaded so far (modules, routes, SQL) lives as long as the process:
            # take it out of the collector's sight, so each collection scans only requests'
            # objects. Collections were a fifth of a search request's time before.
            gc.freeze()
            log.info(
                "Runyard %s serving %s (authentication %s)",
                __version__,
                redact_url(self.settings.backend_store_uri),
                "on" if self.gate.enabled else "off",
            )
            self.batch_runner.start()
            self.invocations.start()  # redeploys every stored deployment, in the background
            yield
            await self.invocations.aclose()
            self.batch_runner.stop()
            self.close()

        return Starlette(
            routes=[
                StarletteRoute("/health", health, methods=["GET", "HEAD"]),
                StarletteRoute("/version", version, methods=["GET"]),
                *self.invocations.routes(),  # POST /w/<ws>/endpoints/<name>/invocations, GET /metrics
                *ui_routes(self.services, self.gate.enabled),  # the web UI, /device included
            ],
            exception_handlers={404: not_found},
            lifespan=lifespan,
        )

    async def __call__(self, scope, receive, send) -> None:
        await self._asgi(scope, receive, send)

    def close(self) -> None:
        self._router.close()
        self.services.endpoints.close()  # stops the scoring processes
        self.db.close()


def create_app(settings: Settings | None = None) -> RunyardApp:
    return RunyardApp(settings or Settings.load())


__all__ = ["RunyardApp", "create_app"]
