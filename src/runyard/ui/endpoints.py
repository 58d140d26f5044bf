"""Endpoint pages (filled in once the endpoints service lands)."""

from __future__ import annotations

from starlette.responses import Response

from runyard.errors import NotFound
from runyard.ui.web import Ctx


def endpoints(ctx: Ctx) -> Response:
    return ctx.render("endpoints.html", endpoints=[])


def endpoint(ctx: Ctx) -> Response:
    raise NotFound(f"No endpoint named '{ctx.request.path_params['name']}' in workspace '{ctx.ws.name}'.")


__all__ = ["endpoint", "endpoints"]
