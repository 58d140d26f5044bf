"""Experiments: create, rename, delete/restore, tags, lookups, search."""

from __future__ import annotations

import os
from urllib.parse import urlparse

from sqlalchemy.exc import IntegrityError

from runyard.entities import DEFAULT_EXPERIMENT_ID, Experiment, Workspace
from runyard.errors import AlreadyExists, InvalidParameter, NotFound
from runyard.services import audit
from runyard.services import validation as v
from runyard.services.clock import now_ms
from runyard.services.paging import Page, lifecycle_stages, offset_page, view_type
from runyard.services.workspaces import WorkspaceService
from runyard.store.sql import experiments as sql
from runyard.store.sql import workspaces as ws_sql
from runyard.store.sql.engine import Database


def _not_found(experiment_id: object) -> NotFound:
    return NotFound(f"No Experiment with id={experiment_id} exists")


def _resolve_location(location: str) -> str:
    """A relative local path resolves against the server's working directory, as MLflow does."""
    if urlparse(location).scheme:
        return location
    return "file://" + os.path.abspath(location)


class ExperimentService:
    def __init__(self, db: Database, workspaces: WorkspaceService) -> None:
        self._db = db
        self._workspaces = workspaces

    def get(self, ws: Workspace, experiment_id: str | int) -> Experiment:
        eid = v.experiment_id(experiment_id)
        with self._db.read() as conn:
            exp = sql.get(conn, ws.id, eid)
        if exp is None:
            raise _not_found(experiment_id)
        return exp

    def get_by_name(self, ws: Workspace, name: str) -> Experiment:
        v.require(name, "experiment_name")
        with self._db.read() as conn:
            exp = sql.get_by_name(conn, ws.id, name)
        if exp is None:
            raise NotFound(f"Could not find experiment with name '{name}'")
        return exp

    def create(
        self, ws: Workspace, name: str, artifact_location: str | None, tags: dict[str, str | None]
    ) -> int:
        v.entity_name(name, "Experiment name", v.MAX_EXPERIMENT_NAME)
        for k, val in tags.items():
            v.key(k, "tag key")
            v.value_length(val, v.MAX_EXPERIMENT_TAG_VALUE, "Experiment tag", k)
        location = _resolve_location(artifact_location) if artifact_location else None
        now = now_ms()

        def tx(conn) -> int:
            if sql.exists_name(conn, ws.id, name):
                raise AlreadyExists(f"Experiment(name={name}) already exists.")
            eid = ws_sql.next_value(conn, "experiment_id")
            sql.insert_experiment(
                conn, ws.id, eid, name, location or self._workspaces.artifact_location(eid), now, tags
            )
            return eid

        try:
            return self._db.write(tx)
        except IntegrityError:
            raise AlreadyExists(f"Experiment(name={name}) already exists.") from None

    def rename(self, ws: Workspace, experiment_id: str, new_name: str | None) -> None:
        v.entity_name(new_name, "new_name", v.MAX_EXPERIMENT_NAME)
        exp = self.get(ws, experiment_id)
        if exp.lifecycle_stage != "active":
            raise InvalidParameter(
                f"Cannot rename a non-active experiment {exp.experiment_id}. Restore it first."
            )

        def tx(conn) -> None:
            other = sql.get_by_name(conn, ws.id, new_name)  # type: ignore[arg-type]
            if other is not None and other.experiment_id != exp.experiment_id:
                raise AlreadyExists(f"Experiment(name={new_name}) already exists.")
            sql.update_fields(conn, ws.id, exp.experiment_id, name=new_name, last_update_time=now_ms())

        self._db.write(tx)

    def set_lifecycle(self, ws: Workspace, experiment_id: str, stage: str) -> None:
        """Delete (stage='deleted') or restore (stage='active') an experiment and its runs."""
        exp = self.get(ws, experiment_id)
        if stage == "deleted" and exp.experiment_id == DEFAULT_EXPERIMENT_ID:
            raise InvalidParameter("Cannot delete the default experiment '0'. It is the fallback for runs.")
        if stage == "active" and exp.lifecycle_stage == "active":
            raise InvalidParameter(
                f"Cannot restore an active experiment {exp.experiment_id}: it is not deleted."
            )
        if stage == "deleted" and exp.lifecycle_stage == "deleted":
            raise InvalidParameter(f"Experiment {exp.experiment_id} is already deleted.")
        now = now_ms()
        actor = audit.current_actor.get()

        def tx(conn) -> None:
            sql.update_fields(conn, ws.id, exp.experiment_id, lifecycle_stage=stage, last_update_time=now)
            sql.set_runs_lifecycle(conn, ws.id, exp.experiment_id, stage, now)
            if stage == "deleted":
                audit.record(
                    conn, ws.id, "experiment.delete", f"{exp.name} (id {exp.experiment_id})", actor=actor
                )

        self._db.write(tx)

    def set_tag(self, ws: Workspace, experiment_id: str, key: str, value: str | None) -> None:
        v.key(key, "tag key")
        v.value_length(value, v.MAX_EXPERIMENT_TAG_VALUE, "Experiment tag", key)
        exp = self.get(ws, experiment_id)
        if exp.lifecycle_stage != "active":
            raise InvalidParameter(f"The experiment {exp.experiment_id} must be in the 'active' state.")
        self._db.write(lambda conn: sql.set_tags(conn, ws.id, exp.experiment_id, {key: value}))

    def delete_tag(self, ws: Workspace, experiment_id: str, key: str) -> None:
        v.require(key, "key")
        exp = self.get(ws, experiment_id)
        if exp.lifecycle_stage != "active":
            raise InvalidParameter(f"The experiment {exp.experiment_id} must be in the 'active' state.")
        removed = self._db.write(lambda conn: sql.delete_tag(conn, ws.id, exp.experiment_id, key))
        if not removed:
            raise NotFound(f"No tag with name: {key} in experiment with id {exp.experiment_id}")

    def search(
        self,
        ws: Workspace,
        filter_string: str | None,
        order_by: list[str],
        view: str | int | None,
        max_results: int | None,
        page_token: str | None,
    ) -> Page[Experiment]:
        limit = v.max_results(max_results, 1000, v.MAX_RESULTS_SEARCH_EXPERIMENTS)
        stages = lifecycle_stages(view_type(view))

        def fetch(offset: int, n: int) -> list[Experiment]:
            with self._db.read() as conn:
                return sql.search(conn, ws.id, stages, filter_string, order_by, offset, n)

        return offset_page(page_token, f"exp|{filter_string}|{order_by}|{stages}", limit, fetch)
