"""What every maintenance command needs: the database (schema checked) and a workspace."""

from __future__ import annotations

from runyard.artifacts.object_store import configure as configure_object_stores
from runyard.config import Settings
from runyard.entities import Workspace
from runyard.errors import InvalidState
from runyard.services.workspaces import WorkspaceService
from runyard.store.sql import migrate
from runyard.store.sql.engine import Database, redact_url


def open_database(settings: Settings, *, create: bool = False) -> Database:
    """The metadata database at the current schema. ``create`` makes an empty one usable
    (an import target); otherwise an empty database is refused, as a mistyped path would be."""
    # Admin commands stream whole tables: the per-statement timeout is for requests only.
    # Artifact backends built from now on use the same object-store settings as the server.
    configure_object_stores(settings.s3_endpoint_url, settings.azure_storage_connection_string)
    db = Database(settings.backend_store_uri, pool_size=2, statement_timeout_ms=0)
    try:
        if migrate.current_revision(db) is None and not create:
            raise InvalidState(
                f"No Runyard database at {redact_url(settings.backend_store_uri)}: check --backend-store-uri "
                "(or RUNYARD_BACKEND_STORE_URI)."
            )
        migrate.ensure_schema(db)
        if create:
            workspaces(db, settings).ensure_default()
    except BaseException:
        db.close()
        raise
    return db


def workspaces(db: Database, settings: Settings) -> WorkspaceService:
    return WorkspaceService(db, settings.default_artifact_root)


def resolve_workspace(db: Database, name: str) -> Workspace:
    """The workspace called ``name``; NotFound (naming how to create it) otherwise."""
    return WorkspaceService(db, "mlflow-artifacts:/").resolve(name)


__all__ = ["open_database", "resolve_workspace", "workspaces"]
