"""What every maintenance command needs: the database (schema checked) and a workspace."""

from __future__ import annotations

from runyard.config import Settings
from runyard.entities import Workspace
from runyard.errors import InvalidState
from runyard.services.workspaces import WorkspaceService
from runyard.store.sql import migrate
from runyard.store.sql.engine import Database


def open_database(settings: Settings, *, create: bool = False) -> Database:
    """The metadata database at the current schema. ``create`` makes an empty one usable
    (an import target); otherwise an empty database is refused, as a mistyped path would be."""
    # Admin commands stream whole tables: the per-statement timeout is for requests only.
    db = Database(settings.backend_store_uri, pool_size=2, statement_timeout_ms=0)
    try:
        if migrate.current_revision(db) is None and not create:
            raise InvalidState(
                f"No Runyard database at {redact(settings.backend_store_uri)}: check --backend-store-uri "
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


def redact(uri: str) -> str:
    """Never print a database password."""
    if "@" in uri and "://" in uri:
        scheme, rest = uri.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}" if ":" in creds else uri
    return uri


__all__ = ["open_database", "redact", "resolve_workspace", "workspaces"]
