"""The one route table. Every API path of Runyard appears here and nowhere else.

Paths are relative to ``/api`` (each is also served under ``/ajax-api`` and under
``/w/<workspace>/``, see api/router.py). ``access`` declares what the caller needs; the
access layer reads it from here, so a route cannot exist without its check.
"""

from __future__ import annotations

from runyard.api import experiments, openapi, server, workspaces
from runyard.api.call import Access, Route
from runyard.api.wire import experiments as exp_w
from runyard.api.wire import workspaces as ws_w

R, W, M, A, P = Access.READ, Access.WRITE, Access.MANAGE, Access.ADMIN, Access.PUBLIC
_T = "/2.0/mlflow"


def routes() -> list[Route]:
    return [
        # -- server ----------------------------------------------------------------------
        Route("GET", "/3.0/mlflow/server-info", server.server_info, None, P, summary="Server capabilities"),
        Route("GET", "/openapi.json", openapi.document, None, P, summary="This OpenAPI document"),
        # -- workspaces ------------------------------------------------------------------
        Route("GET", "/3.0/mlflow/workspaces", workspaces.list_, None, R),
        Route("POST", "/3.0/mlflow/workspaces", workspaces.create, ws_w.CreateWorkspace, A),
        Route("GET", "/3.0/mlflow/workspaces/{name}", workspaces.get, None, R),
        Route("PATCH", "/3.0/mlflow/workspaces/{name}", workspaces.update, ws_w.UpdateWorkspace, A),
        Route("DELETE", "/3.0/mlflow/workspaces/{name}", workspaces.delete, None, A),
        # -- experiments -----------------------------------------------------------------
        Route("POST", f"{_T}/experiments/create", experiments.create, exp_w.CreateExperiment, W),
        Route("GET", f"{_T}/experiments/get", experiments.get, exp_w.GetExperiment, R),
        Route("GET", f"{_T}/experiments/get-by-name", experiments.get_by_name, exp_w.GetExperimentByName, R),
        Route("GET", f"{_T}/experiments/search", experiments.search, exp_w.SearchExperiments, R),
        Route("POST", f"{_T}/experiments/search", experiments.search, exp_w.SearchExperiments, R),
        Route("POST", f"{_T}/experiments/update", experiments.update, exp_w.UpdateExperiment, W),
        Route("POST", f"{_T}/experiments/delete", experiments.delete, exp_w.DeleteExperiment, W),
        Route("POST", f"{_T}/experiments/restore", experiments.restore, exp_w.RestoreExperiment, W),
        Route("POST", f"{_T}/experiments/set-experiment-tag", experiments.set_tag, exp_w.SetExperimentTag, W),
        Route("POST", f"{_T}/experiments/delete-experiment-tag", experiments.delete_tag, exp_w.DeleteExperimentTag, W),
        # -- runs, metrics, params, tags, inputs (runs helper) ---------------------------
        # -- logged models (MLflow 3) ----------------------------------------------------
        # -- registry: registered models, versions, aliases ------------------------------
        # -- artifacts (proxied) ---------------------------------------------------------
    ]


__all__ = ["routes"]
