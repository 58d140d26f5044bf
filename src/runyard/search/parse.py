"""Entry points: one filter parser per search endpoint, and the order_by parsers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from runyard.search._parser import Parser
from runyard.search._specs import spec_for
from runyard.search.ast import Filter, KeyKind, OrderBy, SearchEntity
from runyard.search.errors import SearchSyntaxError


def parse_filter(entity: SearchEntity | str, text: str | None) -> Filter:
    """Parse ``text`` as a filter for ``entity``; ``None`` or blank text means no clauses."""
    spec = spec_for(entity)
    if text is None or not text.strip():
        return ()
    return Parser(text, "filter", spec).filter()


def parse_run_filter(text: str | None) -> Filter:
    return parse_filter(SearchEntity.RUNS, text)


def parse_experiment_filter(text: str | None) -> Filter:
    return parse_filter(SearchEntity.EXPERIMENTS, text)


def parse_registered_model_filter(text: str | None) -> Filter:
    return parse_filter(SearchEntity.REGISTERED_MODELS, text)


def parse_model_version_filter(text: str | None) -> Filter:
    return parse_filter(SearchEntity.MODEL_VERSIONS, text)


def parse_logged_model_filter(text: str | None) -> Filter:
    return parse_filter(SearchEntity.LOGGED_MODELS, text)


def parse_order_by(entity: SearchEntity | str, clauses: Iterable[str] | None) -> tuple[OrderBy, ...]:
    """Parse clauses such as ``"metrics.rmse DESC"``; ``None`` or ``[]`` means the default.

    The default order and its tie-breakers belong to the SQL compiler, not to this list.
    """
    spec = spec_for(entity)
    parsed: list[OrderBy] = []
    for clause in clauses or ():
        if not isinstance(clause, str) or not clause.strip():
            raise SearchSyntaxError(f"Invalid order_by {clause!r}: expected a non-empty clause")
        parsed.append(Parser(clause, "order_by", spec).order_by())
    _reject_duplicates(parsed)
    return tuple(parsed)


def parse_logged_model_order_by(items: Iterable[Mapping[str, object]] | None) -> tuple[OrderBy, ...]:
    """Parse the structured order_by of ``logged-models/search``.

    Each item looks like ``{"field_name": "metrics.acc", "ascending": False,
    "dataset_name": "eval", "dataset_digest": "abc"}``; only ``field_name`` is required.
    """
    spec = spec_for(SearchEntity.LOGGED_MODELS)
    parsed: list[OrderBy] = []
    for item in items or ():
        field_name = item.get("field_name")
        if not isinstance(field_name, str) or not field_name.strip():
            raise SearchSyntaxError("Invalid order_by: `field_name` must be specified")
        parser = Parser(field_name, "order_by field_name", spec)
        ident, _ = parser.identifier(for_order=True)
        if not parser.at_end():
            raise parser.unexpected("the end of the field name (use `ascending` for direction)")
        ascending = item.get("ascending")
        if ascending is None:
            ascending = True
        if not isinstance(ascending, bool):
            raise SearchSyntaxError(
                f"Invalid order_by for {field_name!r}: `ascending` must be a boolean, got {ascending!r}"
            )
        dataset_name = _optional_str(item, "dataset_name", field_name)
        dataset_digest = _optional_str(item, "dataset_digest", field_name)
        if dataset_digest and not dataset_name:
            raise SearchSyntaxError(
                f"Invalid order_by for {field_name!r}: `dataset_digest` requires `dataset_name`"
            )
        if ident.kind is not KeyKind.METRIC:
            # Datasets only scope metric values; MLflow ignores them elsewhere, and so do we.
            dataset_name = dataset_digest = None
        parsed.append(OrderBy(ident, ascending, dataset_name, dataset_digest))
    return tuple(parsed)


def _optional_str(item: Mapping[str, object], name: str, field_name: str) -> str | None:
    value = item.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise SearchSyntaxError(
            f"Invalid order_by for {field_name!r}: `{name}` must be a string, got {value!r}"
        )
    return value


def _reject_duplicates(parsed: list[OrderBy]) -> None:
    # Ordering twice by one key is always a mistake (and MLflow rejects it too).
    seen: set[object] = set()
    for order in parsed:
        if order.key in seen:
            raise SearchSyntaxError(f"Invalid order_by: {order.key} appears more than once")
        seen.add(order.key)
