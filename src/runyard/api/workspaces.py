"""Handlers for /api/3.0/mlflow/workspaces (MLflow's workspace REST API)."""

from __future__ import annotations

from starlette.responses import Response

from runyard.api.call import Call
from runyard.api.router import json_response
from runyard.api.wire import workspaces as w
from runyard.entities import Workspace


def to_wire(ws: Workspace) -> w.Workspace:
    return w.Workspace(name=ws.name, description=ws.description)


def list_(call: Call, _req: None) -> w.ListWorkspacesResponse:
    visible = call.services.access.visible_workspaces(call.principal, call.services.workspaces.list())
    return w.ListWorkspacesResponse(workspaces=[to_wire(ws) for ws in visible])


def create(call: Call, req: w.CreateWorkspace) -> Response:
    ws = call.services.workspaces.create(req.name, req.description)
    return json_response(w.WorkspaceResponse(workspace=to_wire(ws)), status=201)


def get(call: Call, _req: None) -> w.WorkspaceResponse:
    return w.WorkspaceResponse(workspace=to_wire(call.services.workspaces.get(call.path_param("name"))))


def update(call: Call, req: w.UpdateWorkspace) -> w.WorkspaceResponse:
    ws = call.services.workspaces.update(call.path_param("name"), req.description)
    return w.WorkspaceResponse(workspace=to_wire(ws))


def delete(call: Call, _req: None) -> Response:
    call.services.workspaces.delete(call.path_param("name"))
    return Response(status_code=204)
