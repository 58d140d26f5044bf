"""Registered models: create, rename, delete, tags, aliases, latest versions, search.

Names, limits and messages follow MLflow's model registry; everything is per workspace.
Model versions live in services/model_versions.py and share the validators below.
"""

from __future__ import annotations

import posixpath
import re

from sqlalchemy.exc import IntegrityError

from runyard.entities import ModelVersion, RegisteredModel, Workspace
from runyard.errors import AlreadyExists, InvalidParameter, NotFound
from runyard.search import SearchEntity, parse_order_by, parse_registered_model_filter
from runyard.search.page_token import query_fingerprint
from runyard.services import audit
from runyard.services import validation as v
from runyard.services.clock import now_ms
from runyard.services.paging import Page, offset_page
from runyard.store.sql import registry as sql
from runyard.store.sql.engine import Database

MAX_MODEL_NAME = 256  # the column width, as in MLflow's schema
MAX_REGISTRY_TAG_VALUE = 100_000
MAX_ALIAS = 255
MAX_RESULTS_MODELS_DEFAULT, MAX_RESULTS_MODELS = 100, 1000
STAGES = ("None", "Staging", "Production", "Archived")
ACTIVE_STAGES = ("Staging", "Production")
PROMPT_TAG = "mlflow.prompt.is_prompt"
_ALIAS = re.compile(r"^[\w\-]*$")
_MAX_INT32 = 2**31 - 1  # version columns are 32-bit, as in MLflow
_VERSION_ALIAS = re.compile(r"^[vV]\d+$")


# -- validators shared with model versions ---------------------------------------------------


def text(value: str | None, what: str) -> str | None:
    """Free text: anything but NUL, which no database column can hold (PostgreSQL refuses it)."""
    if value is not None and "\x00" in value:
        raise InvalidParameter(f"Invalid value for '{what}': it contains a NUL character.")
    return value


def model_name(name: str | None, what: str = "name") -> str:
    if name is None or not name.strip():
        v.require(None, what)
    assert name is not None
    text(name, what)
    if "/" in name or ":" in name:
        raise InvalidParameter(f"Invalid model name '{name}'. Names cannot contain '/' or ':'.")
    norm = posixpath.normpath(name)
    if norm != name or norm == "." or norm.startswith(".."):
        raise InvalidParameter(
            f"Invalid model name '{name}'. Names must not resolve to another name when treated as "
            f"a path; this one would resolve to '{norm}'."
        )
    if len(name) > MAX_MODEL_NAME:
        raise InvalidParameter(f"Model name is {len(name)} characters long; the limit is {MAX_MODEL_NAME}.")
    return name


def version_number(value: str | int | None) -> int:
    v.require(value, "version")
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidParameter(f"Parameter 'version' must be an integer, got '{value}'.") from None
    if abs(number) > _MAX_INT32:
        raise InvalidParameter(
            f"Parameter 'version' is out of range: {value}. Versions go up to {_MAX_INT32}."
        )
    return number


def registry_tag(key: str | None, value: str | None) -> tuple[str, str]:
    """A model or version tag; a missing value is the empty string, as the protos make it."""
    v.key(key, "tag key")
    assert key is not None
    value = text(value, "value") or ""
    v.value_length(value, MAX_REGISTRY_TAG_VALUE, "Tag", key)
    return key, value


def alias_name(alias: str | None) -> str:
    if not alias:
        raise InvalidParameter("Registered model alias name cannot be empty.")
    if not _ALIAS.match(alias):
        raise InvalidParameter(
            f"Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores (_), "
            "and dashes (-)."
        )
    if len(alias) > MAX_ALIAS:
        raise InvalidParameter(
            f"Alias '{alias[:40]}...' is {len(alias)} characters long; the limit is {MAX_ALIAS}."
        )
    return alias


def canonical_stage(stage: str | None) -> str:
    v.require(stage, "stage")
    assert stage is not None
    for known in STAGES:
        if known.lower() == stage.lower():
            return known
    raise InvalidParameter(f"Invalid Model Version stage: {stage}. Value must be one of {', '.join(STAGES)}.")


def model_not_found(name: str) -> NotFound:
    return NotFound(f"Registered Model with name={name} not found")


def version_not_found(name: str, version: int | str) -> NotFound:
    return NotFound(f"Model Version (name={name}, version={version}) not found")


def _is_prompt(tags: dict[str, str | None]) -> bool:
    return (tags.get(PROMPT_TAG) or "false").lower() == "true"


def _already_exists(
    name: str, existing_tags: dict[str, str | None], new_tags: dict[str, str | None]
) -> AlreadyExists:
    old = "prompt" if _is_prompt(existing_tags) else "registered model"
    new = "prompt" if _is_prompt(new_tags) else "registered model"
    if old != new:
        return AlreadyExists(
            f"Tried to create a {new} with name '{name}', but the name is already taken by a {old}. "
            "A model and a prompt cannot have the same name."
        )
    return AlreadyExists(
        f"{'Prompt' if new == 'prompt' else 'Registered Model'} (name={name}) already exists."
    )


class RegistryService:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- reads -------------------------------------------------------------------------------
    def get(self, ws: Workspace, name: str | None) -> RegisteredModel:
        name = model_name(name)
        with self._db.read() as conn:
            found = sql.load_models(conn, ws.id, [name])
        if not found:
            raise model_not_found(name)
        return found[0]

    def latest_versions(self, ws: Workspace, name: str | None, stages: list[str]) -> list[ModelVersion]:
        name = model_name(name)
        wanted = {canonical_stage(s) for s in stages} if stages else set(STAGES)
        with self._db.read() as conn:
            if not sql.model_exists(conn, ws.id, name):
                raise model_not_found(name)
            latest = sql.latest_versions(conn, ws.id, name)
        return [mv for mv in latest if mv.current_stage in wanted]

    def search(
        self,
        ws: Workspace,
        filter_string: str | None,
        order_by: list[str],
        max_results: int | None,
        page_token: str | None,
    ) -> Page[RegisteredModel]:
        limit = v.max_results(max_results, MAX_RESULTS_MODELS_DEFAULT, MAX_RESULTS_MODELS)
        parsed_filter = parse_registered_model_filter(text(filter_string, "filter"))
        orders = parse_order_by(SearchEntity.REGISTERED_MODELS, order_by)
        fingerprint = query_fingerprint("registered_models", filter_string or "", list(order_by))

        def fetch(offset: int, n: int) -> list[RegisteredModel]:
            with self._db.read() as conn:
                names = sql.search_model_names(conn, ws.id, parsed_filter, orders, offset, n)
                return sql.load_models(conn, ws.id, names)

        return offset_page(page_token, fingerprint, limit, fetch)

    def version_by_alias(self, ws: Workspace, name: str | None, alias: str | None) -> ModelVersion:
        name = model_name(name)
        alias = alias_name(alias)
        with self._db.read() as conn:
            if not sql.model_exists(conn, ws.id, name):
                raise model_not_found(name)
            if alias.lower() == "latest":
                number = sql.latest_version_number(conn, ws.id, name)
                if number is None:
                    raise NotFound(f"Latest version not found for model {name}.")
            else:
                number = sql.alias_version(conn, ws.id, name, alias)
                if number is None:
                    # MLflow answers INVALID_PARAMETER_VALUE here, and clients may rely on it.
                    raise InvalidParameter(f"Registered model alias {alias} not found.")
            mv = sql.get_version(conn, ws.id, name, number)
        if mv is None:
            raise version_not_found(name, number)
        return mv

    # -- changes -----------------------------------------------------------------------------
    def create(
        self, ws: Workspace, name: str | None, tags: dict[str, str | None], description: str | None
    ) -> RegisteredModel:
        name = model_name(name)
        checked = dict(registry_tag(k, val) for k, val in tags.items())
        text(description, "description")
        now = now_ms()

        def tx(conn) -> None:
            if sql.model_exists(conn, ws.id, name):
                raise _already_exists(name, sql.model_tags(conn, ws.id, name), checked)
            sql.insert_model(conn, ws.id, name, description, now, checked)

        try:
            self._db.write(tx)
        except IntegrityError:  # a concurrent create on another replica won the race
            raise _already_exists(name, {}, {}) from None
        return self.get(ws, name)

    def update(self, ws: Workspace, name: str | None, description: str | None) -> RegisteredModel:
        name = model_name(name)
        text(description, "description")
        now = now_ms()
        updated = self._db.write(
            lambda conn: sql.update_model(conn, ws.id, name, description=description, last_updated_time=now)
        )
        if not updated:
            raise model_not_found(name)
        return self.get(ws, name)

    def rename(self, ws: Workspace, name: str | None, new_name: str | None) -> RegisteredModel:
        name = model_name(name)
        new_name = model_name(new_name, "new_name")
        now = now_ms()

        def tx(conn) -> None:
            if not sql.model_exists(conn, ws.id, name):
                raise model_not_found(name)
            if new_name == name:
                sql.update_model(conn, ws.id, name, last_updated_time=now)
                return
            if sql.model_exists(conn, ws.id, new_name):
                raise AlreadyExists(f"Registered Model (name={new_name}) already exists.")
            sql.rename_model(conn, ws.id, name, new_name, now)

        try:
            self._db.write(tx)
        except IntegrityError:
            raise AlreadyExists(f"Registered Model (name={new_name}) already exists.") from None
        return self.get(ws, new_name)

    def delete(self, ws: Workspace, name: str | None) -> None:
        name = model_name(name)
        actor = audit.current_actor.get()

        def tx(conn) -> bool:
            deleted = sql.delete_model(conn, ws.id, name)
            if deleted:
                audit.record(conn, ws.id, "registered_model.delete", name, actor=actor)
            return deleted

        if not self._db.write(tx):
            raise model_not_found(name)

    def set_tag(self, ws: Workspace, name: str | None, key: str | None, value: str | None) -> None:
        name = model_name(name)
        key, value = registry_tag(key, value)

        def tx(conn) -> None:
            if not sql.model_exists(conn, ws.id, name):
                raise model_not_found(name)
            sql.set_model_tags(conn, ws.id, name, {key: value})

        self._db.write(tx)

    def delete_tag(self, ws: Workspace, name: str | None, key: str | None) -> None:
        """Deleting a tag the model does not have is not an error (MLflow's rule)."""
        name = model_name(name)
        v.key(key, "tag key")
        assert key is not None

        def tx(conn) -> None:
            if not sql.model_exists(conn, ws.id, name):
                raise model_not_found(name)
            sql.delete_model_tag(conn, ws.id, name, key)

        self._db.write(tx)

    def set_alias(self, ws: Workspace, name: str | None, alias: str | None, version: str | None) -> None:
        name = model_name(name)
        alias = alias_name(alias)
        if alias.lower() == "latest":
            raise InvalidParameter("'latest' alias name (case insensitive) is reserved.")
        if _VERSION_ALIAS.match(alias):
            raise InvalidParameter(f"Version alias name '{alias}' is reserved.")
        number = version_number(version)

        def tx(conn) -> None:
            if not sql.version_exists(conn, ws.id, name, number):
                raise version_not_found(name, number)
            sql.set_alias(conn, ws.id, name, alias, number)

        self._db.write(tx)

    def delete_alias(self, ws: Workspace, name: str | None, alias: str | None) -> None:
        name = model_name(name)
        alias = alias_name(alias)

        def tx(conn) -> None:
            if not sql.model_exists(conn, ws.id, name):
                raise model_not_found(name)
            sql.delete_alias(conn, ws.id, name, alias)

        self._db.write(tx)


__all__ = [
    "ACTIVE_STAGES",
    "STAGES",
    "RegistryService",
    "alias_name",
    "canonical_stage",
    "model_name",
    "model_not_found",
    "registry_tag",
    "text",
    "version_not_found",
    "version_number",
]
