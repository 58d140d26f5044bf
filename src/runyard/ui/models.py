"""Registered models: the list, one model's versions, aliases and stages, and setting an alias."""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response

from runyard.api.call import Access
from runyard.errors import NotFound
from runyard.ui.web import Ctx


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def models(ctx: Ctx) -> Response:
    search = ctx.param("q").strip()
    filter_string = f"name ILIKE {_quoted('%' + search + '%')}" if search else None
    page = ctx.services.registry.search(
        ctx.ws, filter_string, ["name ASC"], 100, ctx.param("page_token") or None
    )
    return ctx.render("models.html", models=page.items, next_token=page.next_page_token, q=search)


def model(ctx: Ctx) -> Response:
    name = ctx.request.path_params["name"]
    found = ctx.services.registry.get(ctx.ws, name)
    versions = ctx.services.model_versions.search(
        ctx.ws, f"name = {_quoted(found.name)}", ["version_number DESC"], 200, None
    ).items
    runs = {}
    for mv in versions:
        if mv.run_id and mv.run_id not in runs:
            try:
                runs[mv.run_id] = ctx.services.runs.get(ctx.ws, mv.run_id)
            except NotFound:  # the run may be gone or outside this workspace: show the id only
                runs[mv.run_id] = None
    message = ctx.param("message")
    return ctx.render(
        "model.html",
        model=found,
        versions=versions,
        runs=runs,
        aliases=sorted(found.aliases.items()),
        message=message,
    )


def set_alias(ctx: Ctx) -> Response:
    ctx.require(Access.WRITE)
    name = ctx.request.path_params["name"]
    alias = ctx.field("alias").strip()
    version = ctx.field("version").strip()
    if ctx.field("action") == "delete":
        ctx.services.registry.delete_alias(ctx.ws, name, alias)
        note = f"Removed alias @{alias}."
    else:
        ctx.services.registry.set_alias(ctx.ws, name, alias, version)
        note = f"@{alias} now points to version {version}."
    return ctx.redirect(ctx.url(f"/models/{quote(name, safe='')}", message=note))


__all__ = ["model", "models", "set_alias"]
