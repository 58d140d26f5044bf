"""MLflow 3 logged models: create, finalize, params, tags, soft delete, search.

A logged model lives in an experiment; its artifacts go to
``<experiment artifact_location>/models/<model_id>/artifacts`` as in MLflow.
"""

from __future__ import annotations

import posixpath
import random
import uuid
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

from runyard.entities import LoggedModel, ModelMetric, Workspace
from runyard.errors import InvalidParameter, NotFound
from runyard.search import (
    parse_logged_model_filter,
    parse_logged_model_order_by,
    query_fingerprint,
)
from runyard.services import validation as v
from runyard.services.clock import now_ms
from runyard.services.paging import Page, offset_page
from runyard.store.sql import experiments as exp_sql
from runyard.store.sql import logged_models as sql
from runyard.store.sql.engine import Database

# LoggedModelStatus.to_int() in MLflow; the proto spells them LOGGED_MODEL_<X>.
UNSPECIFIED, PENDING, READY, FAILED = 0, 1, 2, 3
_STATUS_NAMES = {
    "LOGGED_MODEL_STATUS_UNSPECIFIED": UNSPECIFIED,
    "UNSPECIFIED": UNSPECIFIED,
    "LOGGED_MODEL_PENDING": PENDING,
    "PENDING": PENDING,
    "LOGGED_MODEL_READY": READY,
    "READY": READY,
    "LOGGED_MODEL_UPLOAD_FAILED": FAILED,
    "FAILED": FAILED,
}
DEFAULT_MAX_RESULTS = 50  # the proto default the MLflow server applies when none is sent
# MLflow sets no ceiling; a larger request is served in pages of this size (the client's
# search_logged_models follows next_page_token until it has max_results models).
PAGE_CEILING = v.MAX_RESULTS_SEARCH_RUNS
_BAD_NAME_CHARS = ("/", ":", ".", "%", '"', "'")
_MAX_NAME = 500  # column width, as in MLflow
_MAX_RUN_ID = 32
_MAX_DATASET_NAME = 500
_MAX_DATASET_DIGEST = 36

_PREDICATES = (
    "bold", "brave", "bright", "calm", "clever", "crisp", "daring", "eager", "fast", "gentle",
    "glad", "grand", "happy", "keen", "kind", "lively", "lucky", "merry", "neat", "nimble",
    "proud", "quick", "quiet", "rare", "shy", "silent", "smart", "sunny", "swift", "tidy",
    "vivid", "warm", "wise", "witty", "zesty",
)  # fmt: skip
_NOUNS = (
    "ant", "bass", "bat", "bee", "cat", "colt", "crab", "crow", "deer", "dove", "duck", "eel",
    "elk", "fawn", "finch", "fox", "frog", "goat", "hare", "hawk", "jay", "koi", "lark", "lynx",
    "mole", "moth", "newt", "owl", "pike", "puma", "ram", "seal", "slug", "swan", "toad", "wasp",
    "wolf", "wren", "yak",
)  # fmt: skip


def random_name() -> str:
    """A readable default name such as ``swift-owl-417`` (MLflow's style)."""
    return f"{random.choice(_PREDICATES)}-{random.choice(_NOUNS)}-{random.randint(0, 999)}"


def new_model_id() -> str:
    return "m-" + uuid.uuid4().hex


def model_artifact_location(experiment_location: str, model_id: str) -> str:
    """``<experiment location>/models/<id>/artifacts``, keeping any scheme, host and query."""
    parts = urlsplit(experiment_location)
    path = posixpath.join(parts.path or "/", "models", model_id, "artifacts")
    if not parts.scheme:
        return posixpath.join(experiment_location, "models", model_id, "artifacts")
    return urlunsplit(parts._replace(path=path))


def parse_status(value: str | int | None) -> int:
    """Status as the proto name (``LOGGED_MODEL_READY``), MLflow's short name or its number."""
    if value is None or value == "":
        v.require(None, "status")
    if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1, 2, 3):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit() and int(text) in (0, 1, 2, 3):
            return int(text)
        if text.upper() in _STATUS_NAMES:
            return _STATUS_NAMES[text.upper()]
    raise InvalidParameter(
        f"Invalid logged model status {value!r}. Allowed values: LOGGED_MODEL_PENDING, "
        "LOGGED_MODEL_READY, LOGGED_MODEL_UPLOAD_FAILED (or PENDING, READY, FAILED)."
    )


def _not_found(model_id: str) -> NotFound:
    return NotFound(f"Logged model with ID '{model_id}' not found.")


def _name(name: str | None) -> str | None:
    if name is None or name == "":
        return None
    if any(c in name for c in _BAD_NAME_CHARS):
        raise InvalidParameter(
            f"Invalid model name ({name!r}) provided. Model name must be a non-empty string "
            f"and cannot contain the following characters: {_BAD_NAME_CHARS}"
        )
    if len(name) > _MAX_NAME:
        raise InvalidParameter(f"Model name is {len(name)} characters long; the limit is {_MAX_NAME}.")
    return name


def _key(key: str | None, what: str) -> str:
    # MLflow does not restrict logged-model keys beyond the column width; neither do we.
    v.require(key, f"{what} key")
    assert key is not None
    if len(key) > v.MAX_KEY:
        raise InvalidParameter(
            f"{what.capitalize()} key '{key[:40]}...' is {len(key)} characters long; "
            f"the limit is {v.MAX_KEY}."
        )
    return key


def _params(pairs: Iterable[tuple[str | None, str | None]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in pairs:
        k, val = _key(key, "param"), value or ""
        if k in out and out[k] != val:
            raise InvalidParameter(
                f"Param '{k}' is given twice with different values ({out[k]!r} and {val!r}); "
                "a logged model's param cannot change."
            )
        out[k] = val
    return out


def _tags(pairs: Iterable[tuple[str | None, str | None]]) -> dict[str, str | None]:
    # A key repeated in one call keeps its last value, as MLflow does.
    return {_key(key, "tag"): value if value is not None else "" for key, value in pairs}


def _experiment_ids(ids: Sequence[str | int]) -> list[int]:
    if not ids:
        raise InvalidParameter(
            "Missing value for required parameter 'experiment_ids'. "
            "Give at least one experiment id to search in."
        )
    return [v.experiment_id(i) for i in ids]


def _datasets(datasets: Sequence[Mapping[str, str | None]]) -> list[tuple[str, str | None]]:
    out = []
    for d in datasets:
        name = d.get("dataset_name")
        if not name:
            raise InvalidParameter("`dataset_name` in the `datasets` clause must be specified.")
        out.append((name, d.get("dataset_digest") or None))
    return out


class LoggedModelService:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- reads -------------------------------------------------------------------------
    def get(self, ws: Workspace, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        v.require(model_id, "model_id")
        with self._db.read() as conn:
            model = sql.get(conn, ws.id, model_id)
        if model is None or (model.lifecycle_stage == "deleted" and not allow_deleted):
            raise _not_found(model_id)
        return model

    def search(
        self,
        ws: Workspace,
        experiment_ids: Sequence[str | int],
        filter_string: str | None,
        datasets: Sequence[Mapping[str, str | None]],
        max_results: int | None,
        order_by: Sequence[Mapping[str, object]],
        page_token: str | None,
    ) -> Page[LoggedModel]:
        eids = _experiment_ids(experiment_ids)
        refs = _datasets(datasets)
        if max_results is not None and max_results < 0:
            raise InvalidParameter(
                f"Invalid value {max_results} for parameter 'max_results': it must be a positive integer."
            )
        limit = min(max_results or DEFAULT_MAX_RESULTS, PAGE_CEILING)
        clauses = parse_logged_model_filter(filter_string)
        orders = parse_logged_model_order_by(order_by)
        fingerprint = query_fingerprint("logged_models", sorted(eids), filter_string, refs, list(order_by))

        def fetch(offset: int, n: int) -> list[LoggedModel]:
            with self._db.read() as conn:
                ids = sql.search_ids(conn, ws.id, eids, clauses, orders, refs, offset, n)
                return sql.load_many(conn, ws.id, ids)

        return offset_page(page_token, fingerprint, limit, fetch)

    # -- changes -----------------------------------------------------------------------
    def create(
        self,
        ws: Workspace,
        experiment_id: str | int | None,
        name: str | None,
        model_type: str | None,
        source_run_id: str | None,
        params: Iterable[tuple[str | None, str | None]],
        tags: Iterable[tuple[str | None, str | None]],
    ) -> LoggedModel:
        eid = v.experiment_id(experiment_id)
        model_name = _name(name) or random_name()
        if source_run_id and len(source_run_id) > _MAX_RUN_ID:
            raise InvalidParameter(f"Invalid source_run_id '{source_run_id}': run ids are 32 characters.")
        if model_type and len(model_type) > _MAX_NAME:
            raise InvalidParameter(
                f"model_type is {len(model_type)} characters long; the limit is {_MAX_NAME}."
            )
        model_params, model_tags = _params(params), _tags(tags)
        model_id, now = new_model_id(), now_ms()

        def tx(conn) -> LoggedModel:  # noqa: ANN001
            exp = exp_sql.get(conn, ws.id, eid)
            if exp is None:
                raise NotFound(f"No Experiment with id={eid} exists")
            if exp.lifecycle_stage != "active":
                raise InvalidParameter(
                    f"The experiment {eid} must be in the 'active' state. "
                    f"Current state is {exp.lifecycle_stage}."
                )
            model = LoggedModel(
                model_id=model_id,
                experiment_id=eid,
                name=model_name,
                artifact_location=model_artifact_location(exp.artifact_location or "", model_id),
                creation_timestamp=now,
                last_updated_timestamp=now,
                status=PENDING,
                lifecycle_stage="active",
                model_type=model_type or None,
                source_run_id=source_run_id or None,
                tags=model_tags,
                params=model_params,
            )
            sql.insert_model(conn, ws.id, model)
            return model

        return self._db.write(tx)

    def log_params(
        self, ws: Workspace, model_id: str, params: Iterable[tuple[str | None, str | None]]
    ) -> None:
        new = _params(params)

        def tx(conn) -> None:  # noqa: ANN001
            if sql.experiment_of(conn, ws.id, model_id) is None:
                raise _not_found(model_id)
            if not new:
                return
            for key, old in sql.params_of(conn, ws.id, model_id, new).items():
                if old != new[key]:
                    raise InvalidParameter(
                        f"Changing param values is not allowed. Param with key='{key}' was already "
                        f"logged with value='{old}' for logged model ID='{model_id}'. "
                        f"Attempted logging new value '{new[key]}'."
                    )
            sql.insert_params(conn, ws.id, model_id, new)

        self._db.write(tx)

    def finalize(self, ws: Workspace, model_id: str, status: str | int | None) -> LoggedModel:
        code = parse_status(status)
        now = now_ms()

        def tx(conn) -> None:  # noqa: ANN001
            if not sql.update_fields(conn, ws.id, model_id, status=code, last_updated_timestamp_ms=now):
                raise _not_found(model_id)

        self._db.write(tx)
        return self.get(ws, model_id, allow_deleted=True)

    def delete(self, ws: Workspace, model_id: str) -> None:
        now = now_ms()

        def tx(conn) -> None:  # noqa: ANN001
            changed = sql.update_fields(
                conn, ws.id, model_id, lifecycle_stage="deleted", last_updated_timestamp_ms=now
            )
            if not changed:
                raise _not_found(model_id)

        self._db.write(tx)

    def set_tags(self, ws: Workspace, model_id: str, tags: Iterable[tuple[str | None, str | None]]) -> None:
        new = _tags(tags)

        def tx(conn) -> None:  # noqa: ANN001
            if sql.experiment_of(conn, ws.id, model_id) is None:
                raise _not_found(model_id)
            sql.set_tags(conn, ws.id, model_id, new)

        self._db.write(tx)

    def delete_tag(self, ws: Workspace, model_id: str, key: str) -> None:
        v.require(key, "tag_key")

        def tx(conn) -> None:  # noqa: ANN001
            if sql.experiment_of(conn, ws.id, model_id) is None:
                raise _not_found(model_id)
            if not sql.delete_tag(conn, ws.id, model_id, key):
                raise NotFound(f"No tag with key {key!r} found for model with ID {model_id!r}.")

        self._db.write(tx)


def check_metric_dataset(dataset_name: str | None, dataset_digest: str | None) -> None:
    """Column widths for the dataset fields of a metric logged against a model (runs service)."""
    if dataset_name and len(dataset_name) > _MAX_DATASET_NAME:
        raise InvalidParameter(
            f"Metric dataset_name is {len(dataset_name)} characters long; the limit is {_MAX_DATASET_NAME}."
        )
    if dataset_digest and len(dataset_digest) > _MAX_DATASET_DIGEST:
        raise InvalidParameter(
            f"Metric dataset_digest is {len(dataset_digest)} characters long; "
            f"the limit is {_MAX_DATASET_DIGEST}."
        )


__all__ = [
    "FAILED",
    "PENDING",
    "READY",
    "UNSPECIFIED",
    "LoggedModel",
    "LoggedModelService",
    "ModelMetric",
    "check_metric_dataset",
    "model_artifact_location",
    "new_model_id",
    "parse_status",
    "random_name",
]
