"""Input rules shared by every service, with MLflow's limits (never stricter).

Messages say what was wrong and what is allowed, so a user can fix the call.
"""

from __future__ import annotations

import math
import posixpath
import re

from runyard.errors import InvalidParameter

MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
MAX_EXPERIMENT_TAG_VALUE = 20000
MAX_EXPERIMENT_NAME = 500
MAX_ENTITY_NAME = 256
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
MAX_RESULTS_SEARCH_RUNS = 50000
MAX_RESULTS_SEARCH_EXPERIMENTS = 50000
MAX_RESULTS_GET_HISTORY = 25000
MAX_RESULTS_REGISTRY = 1000

_RUN_ID = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")
# MLflow allows alphanumerics, _ - . space / and : in keys; no "..", no leading "/".
_KEY = re.compile(r"^[/\w.\- :]*$")


def require(value: object, name: str) -> None:
    if value is None or value == "":
        raise InvalidParameter(
            f"Missing value for required parameter '{name}'. "
            "See the API docs for more information about request parameters."
        )


def key(value: str | None, what: str = "key") -> str:
    require(value, what)
    assert value is not None
    if len(value) > MAX_KEY:
        raise InvalidParameter(
            f"{what.capitalize()} '{value[:40]}...' is {len(value)} characters long; the limit is {MAX_KEY}."
        )
    if not _KEY.match(value) or _bad_path(value):
        raise InvalidParameter(
            f"Invalid {what} name: '{value}'. Names may only contain alphanumerics, "
            "underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/), "
            "and may not be a relative path like '../x'."
        )
    return value


def _bad_path(value: str) -> bool:
    if value.startswith("/"):
        return True
    norm = posixpath.normpath(value)
    return norm != value or norm.startswith("..")


def value_length(value: str | None, limit: int, what: str, k: str) -> None:
    if value is not None and len(value) > limit:
        raise InvalidParameter(
            f"{what} value for key '{k}' is {len(value)} characters long; the limit is {limit}."
        )


def experiment_id(value: str | int | None) -> int:
    require(value, "experiment_id")
    try:
        eid = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidParameter(
            f"Invalid experiment ID: '{value}'. Experiment IDs are strings of digits."
        ) from None
    if eid < 0:
        raise InvalidParameter(f"Invalid experiment ID: '{value}'. It must not be negative.")
    return eid


def run_id(value: str | None, name: str = "run_id") -> str:
    require(value, name)
    assert value is not None
    if not _RUN_ID.match(value):
        raise InvalidParameter(f"Invalid run ID: '{value}'.")
    return value


def max_results(value: int | None, default: int, limit: int) -> int:
    if value is None:
        return default
    if value <= 0 or value > limit:
        raise InvalidParameter(
            f"Invalid value {value} for parameter 'max_results' supplied. "
            f"It must be a positive integer no greater than {limit}."
        )
    return value


def metric_value(value: float | str, k: str) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise InvalidParameter(
                f"Got invalid value {value!r} for metric '{k}'. Expected a number, NaN or Infinity."
            ) from None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise InvalidParameter(f"Got invalid value {value!r} for metric '{k}'. Expected a number.")
    return float(value)


def is_nan(value: float) -> bool:
    return math.isnan(value)


def entity_name(value: str | None, what: str, limit: int = MAX_ENTITY_NAME) -> str:
    require(value, what)
    assert value is not None
    if len(value) > limit:
        raise InvalidParameter(f"{what} is {len(value)} characters long; the limit is {limit}.")
    return value
