"""The rules of Runyard. Services know neither HTTP nor SQL; they are built once per app."""

from __future__ import annotations

from dataclasses import dataclass

from runyard.config import Settings
from runyard.services.experiments import ExperimentService
from runyard.services.workspaces import WorkspaceService
from runyard.store.sql.engine import Database


@dataclass
class Services:
    settings: Settings
    db: Database
    workspaces: WorkspaceService
    experiments: ExperimentService


def build_services(settings: Settings, db: Database) -> Services:
    workspaces = WorkspaceService(db, settings.default_artifact_root)
    return Services(
        settings=settings,
        db=db,
        workspaces=workspaces,
        experiments=ExperimentService(db, workspaces),
    )


__all__ = ["Services", "build_services"]
