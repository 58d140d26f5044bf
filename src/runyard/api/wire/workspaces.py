"""Workspace messages (/api/3.0/mlflow/workspaces), as MLflow's RestWorkspaceStore sends them."""

from __future__ import annotations

from runyard.api.wire.base import Message


class Workspace(Message):
    name: str
    description: str | None = None


class ListWorkspacesResponse(Message):
    workspaces: list[Workspace] = []


class CreateWorkspace(Message):
    name: str
    description: str | None = None
    default_artifact_root: str | None = None


class UpdateWorkspace(Message):
    description: str | None = None
    default_artifact_root: str | None = None


class WorkspaceResponse(Message):
    workspace: Workspace
