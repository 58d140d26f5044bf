"""Workspaces: creation (with their Default experiment), lookup and the name → id cache."""

from __future__ import annotations

import re
import threading
import time

from sqlalchemy.exc import IntegrityError

from runyard.entities import DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, DEFAULT_WORKSPACE, Workspace
from runyard.errors import AlreadyExists, InvalidParameter, InvalidState, NotFound
from runyard.services import audit
from runyard.services.clock import now_ms
from runyard.store.sql import access as access_sql
from runyard.store.sql import audit as audit_sql
from runyard.store.sql import experiments as exp_sql
from runyard.store.sql import workspaces as ws_sql
from runyard.store.sql.engine import Database

# DNS-label style, as MLflow's WorkspaceNameValidator allows: it ends up in URLs and paths.
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# Workspace ids never change, so a short-lived cache is safe across replicas; the TTL only
# bounds how long a deleted workspace stays addressable on another replica.
_CACHE_TTL_S = 5.0


class WorkspaceService:
    def __init__(self, db: Database, default_artifact_root: str) -> None:
        self._db = db
        self._root = default_artifact_root
        self._cache: dict[str, tuple[float, Workspace]] = {}
        self._lock = threading.Lock()

    # -- lookups -------------------------------------------------------------------------
    def resolve(self, name: str | None) -> Workspace:
        name = name or DEFAULT_WORKSPACE
        hit = self._cache.get(name)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        with self._db.read() as conn:
            ws = ws_sql.get_by_name(conn, name)
        if ws is None:
            raise NotFound(
                f"Workspace '{name}' does not exist. Create it with `runyard workspace create {name}` "
                "or POST /api/3.0/mlflow/workspaces."
            )
        with self._lock:
            self._cache[name] = (time.monotonic() + _CACHE_TTL_S, ws)
        return ws

    def get(self, name: str) -> Workspace:
        return self.resolve(name)

    def list(self) -> list[Workspace]:
        with self._db.read() as conn:
            return ws_sql.list_all(conn)

    # -- changes -------------------------------------------------------------------------
    def ensure_default(self) -> Workspace:
        """Create the ``default`` workspace on a fresh database (idempotent, replica-safe)."""
        with self._db.read() as conn:
            ws = ws_sql.get_by_name(conn, DEFAULT_WORKSPACE)
        if ws is not None:
            return ws
        try:
            return self.create(DEFAULT_WORKSPACE, "The workspace used when none is named.")
        except AlreadyExists:
            return self.resolve(DEFAULT_WORKSPACE)

    def create(self, name: str | None, description: str | None = None) -> Workspace:
        if not name or not _NAME.match(name):
            raise InvalidParameter(
                f"Invalid workspace name '{name}'. Use 1-63 lowercase letters, digits and dashes, "
                "starting and ending with a letter or digit."
            )
        now = now_ms()

        def tx(conn) -> Workspace:
            if ws_sql.get_by_name(conn, name) is not None:
                raise AlreadyExists(f"Workspace '{name}' already exists.")
            ws = ws_sql.insert_workspace(conn, name, description, now)
            exp_sql.insert_experiment(
                conn,
                ws.id,
                DEFAULT_EXPERIMENT_ID,
                DEFAULT_EXPERIMENT_NAME,
                self.artifact_location(DEFAULT_EXPERIMENT_ID),
                now,
                {},
            )
            return ws

        try:
            return self._db.write(tx)
        except IntegrityError:
            raise AlreadyExists(f"Workspace '{name}' already exists.") from None

    def update(self, name: str, description: str | None) -> Workspace:
        ws = self.resolve(name)
        self._db.write(lambda conn: ws_sql.update_description(conn, ws.id, description, now_ms()))
        self._forget(name)
        return self.resolve(name)

    def delete(self, name: str) -> None:
        if name == DEFAULT_WORKSPACE:
            raise InvalidState("The default workspace cannot be deleted.")
        ws = self.resolve(name)
        actor = audit.current_actor.get()

        def tx(conn) -> None:
            remaining = ws_sql.remaining_content(conn, ws.id, DEFAULT_EXPERIMENT_ID)
            if remaining:
                raise InvalidState(
                    f"Workspace '{name}' still holds {', '.join(remaining)}. Delete them first "
                    "(deleted experiments and runs stay until `runyard gc` removes them for good); "
                    "an empty workspace can be deleted."
                )
            # Nothing may keep granting access to a later workspace that reuses the id.
            access_sql.forget_workspace(conn, ws.id)
            audit_sql.forget_workspace(conn, ws.id)
            audit.record(conn, None, "workspace.delete", name, actor=actor)
            ws_sql.delete_workspace(conn, ws.id)

        self._db.write(tx)
        self._forget(name)

    def artifact_location(self, experiment_id: int) -> str:
        return f"{self._root.rstrip('/')}/{experiment_id}"

    def _forget(self, name: str) -> None:
        with self._lock:
            self._cache.pop(name, None)
