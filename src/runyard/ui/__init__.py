"""The web UI: server-rendered pages for workspaces, runs, models, endpoints and access.

``ui_routes`` gives the Starlette routes ``app.py`` mounts next to the API. Pages call the
services directly through thin handlers (never SQL) and check roles the way the API does.
"""

from __future__ import annotations

from importlib.resources import files

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from runyard.api.call import Access
from runyard.services import Services
from runyard.ui import access, charts, compare, endpoints, models, run, tracking
from runyard.ui.web import Ui

R, W, M, P = Access.READ, Access.WRITE, Access.MANAGE, Access.PUBLIC


def ui_routes(services: Services, auth_on: bool) -> list[BaseRoute]:
    ui = Ui(services, auth_on)
    page = ui.page
    ws = "/w/{ws}"
    static = StaticFiles(directory=str(files("runyard.ui") / "static"))
    return [
        Route("/", page(tracking.workspaces, Access.AUTHENTICATED), methods=["GET"]),
        Route("/signin", page(access.signin_form, P), methods=["GET"]),
        Route("/signin", page(access.signin, P), methods=["POST"]),
        Route("/signout", page(access.signout, P), methods=["POST"]),
        Route("/device", page(access.device_form, P), methods=["GET"]),
        Route("/device", page(access.device_decide, P), methods=["POST"]),
        Mount("/static", app=static, name="static"),
        Route(ws, page(tracking.experiments, R), methods=["GET"]),
        Route(ws + "/", page(tracking.experiments, R), methods=["GET"]),
        Route(ws + "/experiments/{experiment_id}", page(tracking.runs_table, R), methods=["GET"]),
        Route(ws + "/runs/{run_id}", page(run.run_page, R), methods=["GET"]),
        Route(ws + "/runs/{run_id}/artifact", page(run.artifact_file, R), methods=["GET"]),
        Route(ws + "/charts/metrics", page(charts.metric_series, R, json=True), methods=["GET"]),
        Route(ws + "/compare", page(compare.compare, R), methods=["GET"]),
        Route(ws + "/models", page(models.models, R), methods=["GET"]),
        Route(ws + "/models/{name}", page(models.model, R), methods=["GET"]),
        Route(ws + "/models/{name}/aliases", page(models.set_alias, W), methods=["POST"]),
        Route(ws + "/endpoints", page(endpoints.endpoints, R), methods=["GET"]),
        Route(ws + "/endpoints/{name}", page(endpoints.endpoint, R), methods=["GET"]),
        Route(ws + "/access", page(access.access_page, M), methods=["GET"]),
        Route(ws + "/access/members", page(access.change_role, M), methods=["POST"]),
    ]


__all__ = ["ui_routes"]
