"""Logging to runs: metrics, params, tags, batches, inputs, outputs and legacy models.

Every call is one write transaction that checks the run and writes everything, so a
refused batch leaves nothing behind. Checks and messages follow MLflow 3.17
(``mlflow/utils/validation.py`` and the SQL store), never stricter: over-long param and tag
values are truncated as MLflow's server does by default.
"""

from __future__ import annotations

import json
import logging
import posixpath
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol

from runyard.entities import Workspace
from runyard.errors import InvalidParameter, NotFound
from runyard.services import validation as v
from runyard.store.sql import inputs as inputs_sql
from runyard.store.sql import logged_models as lm_sql
from runyard.store.sql import metrics as metrics_sql
from runyard.store.sql import runs as sql
from runyard.store.sql.engine import Database

log = logging.getLogger("runyard.runs")

RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"
LOGGED_MODELS_TAG = "mlflow.log-model.history"
MAX_DATASET_NAME, MAX_DATASET_DIGEST, MAX_DATASET_SOURCE_TYPE = 500, 36, 36
MAX_DATASET_SOURCE, MAX_DATASET_SCHEMA, MAX_DATASET_PROFILE = 65535, 1048575, 16777215
MAX_INPUT_TAG_KEY, MAX_INPUT_TAG_VALUE = 255, 500
_INT64 = (-(2**63), 2**63 - 1)
_NAME_CHARS = re.compile(r"^[/\w.\- :]*$")
_RUN_ID = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")
_BAD_CHARS = (
    "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), "
    "colon(:) and slashes (/)."
)


class MetricIn(Protocol):
    """A metric as the API received it (the wire struct fits this shape)."""

    key: str | None
    value: float | None
    timestamp: int | None
    step: int | None
    model_id: str | None
    dataset_name: str | None
    dataset_digest: str | None


class KeyValueIn(Protocol):
    key: str | None
    value: str | None


# -- MLflow's input rules and messages ---------------------------------------------------


def missing(path: str) -> InvalidParameter:
    return InvalidParameter(
        f"Missing value for required parameter '{path}'. "
        "See the API docs for more information about request parameters."
    )


def invalid(path: str, value: object, why: str = "") -> InvalidParameter:
    shown = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return InvalidParameter(
        f"Invalid value {shown} for parameter '{path}' supplied" + (f": {why}" if why else ".")
    )


def too_long(what: str, limit: int) -> InvalidParameter:
    return InvalidParameter(f"'{what}' exceeds the maximum length of {limit} characters")


@lru_cache(maxsize=65536)
def _name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a metric/param/tag key, or None. Cached: keys repeat every step."""
    if not _NAME_CHARS.match(name):
        return _BAD_CHARS
    norm = posixpath.normpath(name)
    if norm != name or norm == "." or norm.startswith(("..", "/")):
        return (
            "Names may be treated as files in certain cases, and must not resolve to other names "
            f"when treated as such. This name would resolve to {norm!r}"
        )
    return None


def check_key(name: str | None, path: str, length_label: str) -> str:
    if name is None or name == "":
        raise missing(path)
    problem = _name_problem(name)
    if problem is not None:
        raise invalid(path, name, problem)
    if len(name) > v.MAX_KEY:
        raise too_long(length_label, v.MAX_KEY)
    return name


def clip(value: str | None, limit: int, what: str) -> str:
    """Proto semantics: an absent string is ''. Over-long values are cut as MLflow does."""
    if value is None:
        return ""
    if len(value) > limit:
        log.warning(
            "%s '%s...' (%d characters) is truncated to %d characters", what, value[:100], len(value), limit
        )
        return value[:limit]
    return value


def check_int64(value: int, path: str, why: str) -> int:
    if not _INT64[0] <= value <= _INT64[1]:
        raise invalid(path, value, why)
    return value


def batch_limit(name: str, limit: int, count: int) -> None:
    if count > limit:
        raise InvalidParameter(
            f"A batch logging request can contain at most {limit} {name}. Got {count} {name}. "
            f"Please split up {name} across multiple requests and try again."
        )


def require_run_id(run_id: str | None) -> str:
    if not run_id:
        raise missing("run_id")
    return run_id


def run_not_found(run_id: str) -> NotFound:
    return NotFound(f"Run with id={run_id} not found")


def check_active(state: sql.RunState | None, run_id: str) -> sql.RunState:
    if state is None:
        raise run_not_found(run_id)
    if state.lifecycle_stage != "active":
        raise InvalidParameter(
            f"The run {run_id} must be in the 'active' state. Current state is {state.lifecycle_stage}."
        )
    return state


# Metric keys already found valid. Keys repeat every step, so the hot loop of a 1,000-metric
# batch is a set lookup per metric; the set is per process and only ever a shortcut.
_GOOD_METRIC_KEYS: set[str] = set()
_MAX_GOOD_KEYS = 100_000


def _check_metric(m: MetricIn, path: str) -> None:
    """The slow path: find out exactly what is wrong with a metric (or learn its key is fine)."""
    key, value, ts, step = m.key, m.value, m.timestamp, m.step or 0
    if not key:
        raise missing(path + "key")
    if value is None:
        raise missing(path + "value")
    if ts is None:
        raise missing(path + "timestamp")
    if key not in _GOOD_METRIC_KEYS:
        problem = _name_problem(key)
        if problem is not None:
            raise invalid(path + "name", key, problem)
        if len(key) > v.MAX_KEY:
            raise too_long("Metric name", v.MAX_KEY)
        if len(_GOOD_METRIC_KEYS) >= _MAX_GOOD_KEYS:
            _GOOD_METRIC_KEYS.clear()
        _GOOD_METRIC_KEYS.add(key)
    if not 0 <= ts <= _INT64[1]:
        raise invalid(
            path + "timestamp",
            ts,
            f"metric '{key}' (value={value}). Timestamp must be a nonnegative long (64-bit integer) ",
        )
    check_int64(
        step, path + "step", f"metric '{key}' (value={value}). Step must be a valid long (64-bit integer)."
    )


def _metric_rows(
    metrics: Sequence[MetricIn], single: bool
) -> tuple[list[metrics_sql.MetricRow], list[MetricIn]]:
    """Validated (key, value, timestamp, step, is_nan) rows, exact duplicates dropped."""
    rows: list[metrics_sql.MetricRow] = []
    with_model: list[MetricIn] = []
    good, lo, hi = _GOOD_METRIC_KEYS, _INT64[0], _INT64[1]
    for i, m in enumerate(metrics):
        key, value, ts, step = m.key, m.value, m.timestamp, m.step or 0
        if key not in good or value is None or ts is None or not (0 <= ts <= hi and lo <= step <= hi):
            _check_metric(m, "" if single else f"metrics[{i}].")
        if value != value:  # NaN: SQLite cannot store it, so 0 plus the is_nan flag
            rows.append((key, 0.0, ts, step, True))
        else:
            rows.append((key, value, ts, step, False))
        if m.model_id:
            with_model.append(m)
    if len(rows) > 1:
        rows = list(dict.fromkeys(rows))  # identical re-logs in one batch are one point
    return rows, with_model


def _model_metric_rows(run_id: str, items: list[MetricIn]) -> list[dict[str, Any]]:
    """Metrics logged with a model_id also belong to that logged model (as in MLflow)."""
    return [
        {
            "model_id": m.model_id,
            "metric_name": m.key,
            "metric_value": m.value,
            "metric_timestamp_ms": m.timestamp,
            "metric_step": m.step or 0,
            "run_id": run_id,
            "dataset_uuid": None,
            "dataset_name": m.dataset_name or None,
            "dataset_digest": m.dataset_digest or None,
        }
        for m in items
    ]


def _params(items: Sequence[KeyValueIn], single: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    clashes: list[str] = []
    for i, p in enumerate(items):
        key = check_key(p.key, "key" if single else f"params[{i}].key", "Param key")
        value = clip(p.value, v.MAX_PARAM_VALUE, "Param value")
        if key in out and out[key] != value:
            clashes.append(f"{key!r} ({out[key]!r} vs {value!r})")
        out.setdefault(key, value)
    if clashes:
        raise InvalidParameter(
            f"Duplicate parameter keys have been submitted with different values: {', '.join(clashes)}. "
            "Please ensure the request contains only one param value per param key."
        )
    return out


def _tags(items: Sequence[KeyValueIn], single: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, t in enumerate(items):
        prefix = "" if single else f"tags[{i}]."
        key = check_key(t.key, prefix + "key", prefix + "key")
        out[key] = clip(t.value, v.MAX_TAG_VALUE, prefix + "value")  # the last value wins
    return out


def _changed_params(run_id: str, wanted: dict[str, str], stored: dict[str, str], single: bool) -> None:
    changed = [(k, stored[k], new) for k, new in wanted.items() if k in stored and stored[k] != new]
    if not changed:
        return
    if single:
        key, old, new = changed[0]
        raise InvalidParameter(
            f"Changing param values is not allowed. Param with key='{key}' was already logged with "
            f"value='{old}' for run ID='{run_id}'. Attempted logging new value '{new}'."
        )
    detail = [{"key": k, "old_value": old, "new_value": new} for k, old, new in changed]
    raise InvalidParameter(
        f"Changing param values is not allowed. Params were already logged='{detail}' for run ID='{run_id}'."
    )


def _model_tags_dict(model: dict[str, Any]) -> dict[str, Any]:
    """The part of an MLmodel that MLflow keeps in the run's model-history tag."""
    kept = {k: model[k] for k in ("run_id", "utc_time_created", "artifact_path", "model_uuid") if k in model}
    flavors = model.get("flavors") or {}
    kept["flavors"] = {
        name: {k: val for k, val in conf.items() if k != "config"} if isinstance(conf, dict) else conf
        for name, conf in flavors.items()
    }
    return kept


# -- the service ---------------------------------------------------------------------------


class RunLogger:
    def __init__(self, db: Database) -> None:
        self._db = db

    def _write(
        self,
        ws: Workspace,
        run_id: str,
        *,
        metrics: Sequence[metrics_sql.MetricRow] = (),
        model_metrics: Sequence[dict[str, Any]] = (),
        params: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        single_param: bool = False,
    ) -> None:
        wid = ws.id

        if metrics and not (params or model_metrics or tags):
            # The hot path (a training loop's log-batch): check and write in one statement.
            found = self._db.write_grouped(sql.METRICS_IF_ACTIVE, (wid, run_id, metrics))
            check_active(found, run_id)
            return

        def tx(conn) -> None:  # noqa: ANN001
            check_active(sql.state(conn, wid, run_id), run_id)
            if params:
                stored = sql.insert_params(conn, wid, run_id, params)
                _changed_params(run_id, params, stored, single_param)
            if metrics:
                metrics_sql.write(conn, wid, run_id, metrics)
            if model_metrics:
                unknown = lm_sql.insert_model_metrics(conn, wid, model_metrics)
                if unknown:
                    raise NotFound(f"Logged model with ID '{unknown[0]}' not found.")
            if tags:
                if RUN_NAME_TAG in tags:  # runs row before tag rows, the order runs/update locks them in
                    sql.update_run(conn, wid, run_id, name=tags[RUN_NAME_TAG])
                sql.set_tags(conn, wid, run_id, tags)

        self._db.write(tx)

    def metric(self, ws: Workspace, run_id: str | None, metric: MetricIn) -> None:
        rid = require_run_id(run_id)
        rows, with_model = _metric_rows([metric], single=True)
        self._write(ws, rid, metrics=rows, model_metrics=_model_metric_rows(rid, with_model))

    def param(self, ws: Workspace, run_id: str | None, param: KeyValueIn) -> None:
        rid = require_run_id(run_id)
        self._write(ws, rid, params=_params([param], single=True), single_param=True)

    def set_tag(self, ws: Workspace, run_id: str | None, tag: KeyValueIn) -> None:
        rid = require_run_id(run_id)
        self._write(ws, rid, tags=_tags([tag], single=True))

    def delete_tag(self, ws: Workspace, run_id: str | None, key: str | None) -> None:
        rid = require_run_id(run_id)
        if not key:
            raise missing("key")

        def tx(conn) -> int:  # noqa: ANN001
            check_active(sql.state(conn, ws.id, rid), rid)
            return sql.delete_tag(conn, ws.id, rid, key)

        if not self._db.write(tx):
            raise NotFound(f"No tag with name: {key} in run with id {rid}")

    def batch(
        self,
        ws: Workspace,
        run_id: str | None,
        metrics: Sequence[MetricIn],
        params: Sequence[KeyValueIn],
        tags: Sequence[KeyValueIn],
    ) -> None:
        rid = require_run_id(run_id)
        if not _RUN_ID.match(rid):
            raise invalid("run_id", rid)
        batch_limit("metrics", v.MAX_METRICS_PER_BATCH, len(metrics))
        batch_limit("params", v.MAX_PARAMS_TAGS_PER_BATCH, len(params))
        batch_limit("tags", v.MAX_PARAMS_TAGS_PER_BATCH, len(tags))
        batch_limit(
            "metrics, params, and tags", v.MAX_ENTITIES_PER_BATCH, len(metrics) + len(params) + len(tags)
        )
        rows, with_model = _metric_rows(metrics, single=False)
        self._write(
            ws,
            rid,
            metrics=rows,
            model_metrics=_model_metric_rows(rid, with_model),
            params=_params(params, single=False),
            tags=_tags(tags, single=False),
        )

    def inputs(
        self,
        ws: Workspace,
        run_id: str | None,
        datasets: Sequence[tuple[dict[str, str | None], Sequence[KeyValueIn]]],
        model_ids: Sequence[str | None],
    ) -> None:
        """``datasets`` holds (dataset fields by proto name, input tags) pairs."""
        rid = require_run_id(run_id)
        if not _RUN_ID.match(rid):
            raise invalid("run_id", rid)
        items: dict[tuple[str, str], tuple[inputs_sql.DatasetFields, dict[str, str]]] = {}
        for fields, tags in datasets:
            ds = _dataset_fields(fields)
            tag_map = {
                _input_tag(t.key, MAX_INPUT_TAG_KEY, "key"): _input_tag(t.value, MAX_INPUT_TAG_VALUE, "value")
                for t in tags
            }
            items.setdefault((ds[0], ds[1]), (ds, tag_map))  # the first (name, digest) wins
        models = [m for m in model_ids if m]

        def tx(conn) -> None:  # noqa: ANN001
            state = check_active(sql.state(conn, ws.id, rid), rid)
            inputs_sql.log_datasets(conn, ws.id, state.experiment_id, rid, list(items.values()))
            inputs_sql.log_model_inputs(conn, ws.id, rid, models)

        self._db.write(tx)

    def outputs(
        self, ws: Workspace, run_id: str | None, models: Sequence[tuple[str | None, int | None]] | None
    ) -> None:
        rid = require_run_id(run_id)
        if models is None:
            raise missing("models")
        outputs = []
        for i, (model_id, step) in enumerate(models):
            if not model_id:
                raise missing(f"models[{i}].model_id")
            outputs.append(
                (model_id, check_int64(step or 0, f"models[{i}].step", "Step must be a 64-bit integer."))
            )

        def tx(conn) -> None:  # noqa: ANN001
            check_active(sql.state(conn, ws.id, rid), rid)
            inputs_sql.log_model_outputs(conn, ws.id, rid, outputs)

        self._db.write(tx)

    def model(self, ws: Workspace, run_id: str | None, model_json: str | None) -> None:
        """Legacy runs/log-model: append the model to the run's ``mlflow.log-model.history``."""
        rid = require_run_id(run_id)
        if not model_json:
            raise missing("model_json")
        try:
            model = json.loads(model_json)
        except ValueError:
            raise InvalidParameter(f"Malformed model info. \n {model_json} \n is not a valid JSON.") from None
        if not isinstance(model, dict):
            raise InvalidParameter(f"Malformed model info. \n {model_json} \n is not a JSON object.")
        absent = {"artifact_path", "flavors", "utc_time_created", "run_id"} - set(model)
        if absent:
            raise InvalidParameter(f"Model json is missing mandatory fields: {absent}")
        entry = _model_tags_dict(model)

        def tx(conn) -> None:  # noqa: ANN001
            check_active(sql.state(conn, ws.id, rid), rid)
            found, current = sql.get_tag(conn, ws.id, rid, LOGGED_MODELS_TAG)
            history = json.loads(current) if found and current else []
            # No truncation here: a cut JSON document would be unreadable, and Text holds it.
            sql.set_tags(conn, ws.id, rid, {LOGGED_MODELS_TAG: json.dumps([*history, entry])})

        self._db.write(tx)


def _dataset_fields(fields: dict[str, str | None]) -> inputs_sql.DatasetFields:
    limits = {
        "name": MAX_DATASET_NAME,
        "digest": MAX_DATASET_DIGEST,
        "source_type": MAX_DATASET_SOURCE_TYPE,
        "source": MAX_DATASET_SOURCE,
        "schema": MAX_DATASET_SCHEMA,
        "profile": MAX_DATASET_PROFILE,
    }
    for name, limit in limits.items():
        value = fields.get(name)
        if value is not None and len(value) > limit:
            raise too_long(name, limit)

    def text(name: str) -> str:
        return fields.get(name) or ""  # proto semantics: absent strings are ''

    return (
        text("name"),
        text("digest"),
        text("source_type"),
        text("source"),
        fields.get("schema"),
        fields.get("profile"),
    )


def _input_tag(value: str | None, limit: int, what: str) -> str:
    value = value or ""
    if len(value) > limit:
        raise too_long(what, limit)
    return value


__all__ = ["LOGGED_MODELS_TAG", "RUN_NAME_TAG", "USER_TAG", "RunLogger", "check_active", "run_not_found"]
