"""The rules of Runyard. Services know neither HTTP nor SQL; they are built once per app."""

from __future__ import annotations

from dataclasses import dataclass

from runyard.artifacts.object_store import configure as configure_object_stores
from runyard.auth.mode import auth_enabled
from runyard.config import Settings
from runyard.services.access import AccessService
from runyard.services.artifacts import ArtifactService
from runyard.services.audit import AuditService
from runyard.services.batch_jobs import BatchJobService
from runyard.services.endpoints import EndpointService, build_endpoint_service
from runyard.services.experiments import ExperimentService
from runyard.services.logged_models import LoggedModelService
from runyard.services.metric_charts import MetricChartService
from runyard.services.model_versions import ModelVersionService
from runyard.services.oauth import OAuthService
from runyard.services.registry import RegistryService
from runyard.services.runs import RunService
from runyard.services.users import UserService
from runyard.services.workspaces import WorkspaceService
from runyard.store.sql.engine import Database


@dataclass
class Services:
    settings: Settings
    db: Database
    workspaces: WorkspaceService
    experiments: ExperimentService
    artifacts: ArtifactService
    registry: RegistryService
    model_versions: ModelVersionService
    logged_models: LoggedModelService
    runs: RunService
    access: AccessService
    oauth: OAuthService
    audit: AuditService
    batch_jobs: BatchJobService
    users: UserService
    metric_charts: MetricChartService
    endpoints: EndpointService


def build_services(settings: Settings, db: Database) -> Services:
    configure_object_stores(settings.s3_endpoint_url, settings.azure_storage_connection_string)
    workspaces = WorkspaceService(db, settings.default_artifact_root)
    access = AccessService(db)
    return Services(
        settings=settings,
        db=db,
        workspaces=workspaces,
        experiments=ExperimentService(db, workspaces),
        artifacts=ArtifactService(db, settings.artifacts_destination, settings.serve_artifacts),
        registry=RegistryService(db),
        model_versions=ModelVersionService(db),
        logged_models=LoggedModelService(db),
        runs=RunService(db),
        access=access,
        oauth=OAuthService(db, settings.access_token_ttl_s, settings.token_rate_limit),
        audit=AuditService(db),
        batch_jobs=BatchJobService(
            db, settings.batch_roots, auth_enabled(settings), settings.access_token_ttl_s
        ),
        users=UserService(db, access.changed),
        metric_charts=MetricChartService(db),
        endpoints=build_endpoint_service(settings, db),
    )


__all__ = ["Services", "build_services"]
