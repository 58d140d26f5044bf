"""Compile search ASTs (``runyard.search``) into SQLAlchemy Core SELECTs of matching ids.

Every builder returns an ordered ``Select`` of ids scoped to one workspace, ending in a
unique tie-breaker so OFFSET paging is stable; the caller adds LIMIT/OFFSET. Filters on
metrics, params, tags and datasets are correlated EXISTS subqueries (no row fan-out, so no
DISTINCT); orderings on them are outer joins on primary keys (at most one row each).
Run metrics are read only from ``latest_metrics``, never from the history table.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    FromClause,
    Select,
    String,
    Table,
    and_,
    case,
    exists,
    false,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

from runyard.search.ast import Comparison, Filter, Identifier, KeyKind, Op, OrderBy, Value
from runyard.search.errors import SearchSyntaxError
from runyard.search.like import close_escape, like_to_glob
from runyard.store.sql import schema as s

DATASET_CONTEXT_TAG = "mlflow.data.context"
PROMPT_TAG = "mlflow.prompt.is_prompt"
# LoggedModelStatus.to_int() in MLflow; the column stores the number, the API speaks names.
LOGGED_MODEL_STATUS = {0: "UNSPECIFIED", 1: "PENDING", 2: "READY", 3: "FAILED"}

ViewType = int | str | Collection[str]
_VIEWS = {1: ("active",), 2: ("deleted",), 3: ("active", "deleted")}
_VIEW_NAMES = {"ACTIVE_ONLY": 1, "DELETED_ONLY": 2, "ALL": 3}
_BINARY: dict[Op, Callable[[Any, Any], ColumnElement[bool]]] = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}


# -- LIKE with one meaning on SQLite and PostgreSQL ----------------------------------------


class CaseSensitiveLike(ColumnElement[bool]):
    """``column LIKE pattern`` that respects case everywhere; backslash escapes % and _.

    SQLite's LIKE ignores ASCII case and a global ``PRAGMA case_sensitive_like`` would
    change every other query, so on SQLite the pattern is translated to GLOB instead.
    """

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a predicate already: no "= 1" appended on SQLite
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("pattern", InternalTraversal.dp_clauseelement),
        ("glob", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], pattern: str) -> None:
        pattern = close_escape(pattern)
        self.column = column
        self.pattern = literal(pattern)
        self.glob = literal(like_to_glob(pattern))


@compiles(CaseSensitiveLike)
def _like_default(element: CaseSensitiveLike, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column.like(element.pattern, escape="\\"), **kw))


@compiles(CaseSensitiveLike, "sqlite")
def _like_sqlite(element: CaseSensitiveLike, compiler: Any, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} GLOB {compiler.process(element.glob, **kw)}"


class CodepointOrder(ColumnElement[Any]):
    """Sort strings by code point on every backend, so one query orders alike everywhere.

    SQLite's default collation already does; PostgreSQL's follows the database locale
    (``en_US`` puts "b" before "C"), so it gets ``COLLATE "C"``.
    """

    inherit_cache = True
    _traverse_internals = [("expr", InternalTraversal.dp_clauseelement)]

    def __init__(self, expr: ColumnElement[Any]) -> None:
        self.expr = expr
        self.type = expr.type


@compiles(CodepointOrder)
def _order_default(element: CodepointOrder, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.expr, **kw))


@compiles(CodepointOrder, "postgresql")
def _order_postgresql(element: CodepointOrder, compiler: Any, **kw: Any) -> str:
    return f'{compiler.process(element.expr, **kw)} COLLATE "C"'


def compare(col: ColumnElement[Any], op: Op, value: Value) -> ColumnElement[bool]:
    """``col <op> value`` for every comparator except IS [NOT] NULL (handled per table)."""
    if op is Op.LIKE:
        return CaseSensitiveLike(col, str(value))
    if op is Op.ILIKE:
        return col.ilike(close_escape(str(value)), escape="\\")
    if op is Op.IN:
        return col.in_(list(value or ()))  # type: ignore[arg-type]
    if op is Op.NOT_IN:
        return col.not_in(list(value or ()))  # type: ignore[arg-type]
    return _BINARY[op](col, value)


# -- shared pieces -----------------------------------------------------------------------

Links = Sequence[ColumnElement[bool]]
Special = Callable[[Comparison], ColumnElement[bool]]


def _keyed(table: Table, links: Links, clause: Comparison) -> ColumnElement[bool]:
    """EXISTS over an (owner, key) -> value table such as params or tags."""
    where = [*links, table.c.key == clause.ident.key]
    if clause.op is Op.IS_NULL:
        return not_(exists().where(*where))
    if clause.op is Op.IS_NOT_NULL:
        return exists().where(*where)
    return exists().where(*where, compare(table.c.value, clause.op, clause.value))


def _conditions(
    filter: Filter,
    attribute: Callable[[str], ColumnElement[Any]],
    keyed: dict[KeyKind, tuple[Table, Links]],
    special: Special | None = None,
) -> list[ColumnElement[bool]]:
    """One WHERE condition per clause: attributes compare columns, keyed kinds use EXISTS."""
    out = []
    for clause in filter:
        kind = clause.ident.kind
        if kind is KeyKind.ATTRIBUTE:
            out.append(compare(attribute(clause.ident.key), clause.op, clause.value))
        elif kind in keyed:
            out.append(_keyed(*keyed[kind], clause))
        else:
            assert special is not None, f"the parser let {clause.ident} through"
            out.append(special(clause))
    return out


def _nulls_last(
    expr: ColumnElement[Any], ascending: bool, *, joined: bool = False
) -> list[ColumnElement[Any]]:
    """``expr`` ascending or descending with NULLs last; ``joined``: from an outer join."""
    ordered = CodepointOrder(expr) if isinstance(expr.type, String) else expr
    direction = ordered.asc() if ascending else ordered.desc()
    if not joined and getattr(expr, "nullable", True) is False:
        return [direction]
    # MLflow wants NULLs last both ways; left alone, SQLite puts them first ascending and
    # PostgreSQL first descending. NULLS LAST (SQLite 3.30+) rather than a CASE in front, so
    # an index on the column can still give the order (experiments' default order).
    return [direction.nulls_last()]


def _order(
    orders: Sequence[OrderBy],
    expr_for: Callable[[OrderBy], list[ColumnElement[Any]]],
    defaults: Sequence[tuple[str, bool]],
) -> list[ColumnElement[Any]]:
    """User orderings, then each default attribute ordering the user did not mention."""
    clauses = [c for o in orders for c in expr_for(o)]
    mentioned = {o.key.key for o in orders if o.key.kind is KeyKind.ATTRIBUTE}
    for key, ascending in defaults:
        if key not in mentioned:
            clauses += expr_for(OrderBy(Identifier(KeyKind.ATTRIBUTE, key), ascending))
    return clauses


def _by_attribute(column: Callable[[str], ColumnElement[Any]]) -> Callable[[OrderBy], list[Any]]:
    return lambda order: _nulls_last(column(order.key.key), order.ascending)


def _stages(view: ViewType) -> tuple[str, ...]:
    if isinstance(view, str):
        if view.upper() not in _VIEW_NAMES:
            raise ValueError(f"unknown view type {view!r}")
        return _VIEWS[_VIEW_NAMES[view.upper()]]
    if isinstance(view, int):
        return _VIEWS[view]
    return tuple(view)


def _experiment_ids(ids: Iterable[str | int]) -> list[int]:
    ids = list(ids)
    try:
        return [int(i) for i in ids]
    except (TypeError, ValueError):
        raise SearchSyntaxError(f"Invalid experiment ids {ids!r}: expected strings of digits") from None


# -- runs ----------------------------------------------------------------------------------

_RUN_COLUMNS = {"run_id": "run_uuid", "run_name": "name"}  # others share the API name


def _run_attribute(key: str) -> ColumnElement[Any]:
    runs = s.runs
    if key == "duration":
        return runs.c.end_time - runs.c.start_time
    return runs.c[_RUN_COLUMNS.get(key, key)]


def _run_special(clause: Comparison) -> ColumnElement[bool]:
    runs, key, op, value = s.runs, clause.ident.key, clause.op, clause.value
    if clause.ident.kind is KeyKind.METRIC:
        lm = s.latest_metrics
        # NaN is stored with is_nan set; like IEEE NaN it satisfies only "!=".
        matched = compare(lm.c.value, op, value)
        nan = lm.c.is_nan == true()
        matched = or_(matched, nan) if op is Op.NE else and_(matched, not_(nan))
        return exists().where(lm.c.run_uuid == runs.c.run_uuid, lm.c.key == key, matched)
    inputs, tags, ds = s.inputs, s.input_tags, s.datasets
    if key == "context":
        source = inputs.join(tags, tags.c.input_uuid == inputs.c.input_uuid)
        matched = and_(tags.c.name == DATASET_CONTEXT_TAG, compare(tags.c.value, op, value))
    else:
        source = inputs.join(ds, ds.c.dataset_uuid == inputs.c.source_id)
        matched = compare(ds.c[key], op, value)
    return exists(select(1).select_from(source).where(inputs.c.destination_id == runs.c.run_uuid, matched))


# Comparisons on a metric that only a present, non-NaN value can satisfy.
_NUMBERS_ONLY = frozenset({Op.EQ, Op.LT, Op.LE, Op.GT, Op.GE, Op.IN})


def select_run_ids(
    workspace_id: int,
    experiment_ids: Iterable[str | int],
    view_type: ViewType,
    filter: Filter = (),
    order_by: Sequence[OrderBy] = (),
) -> Select[Any]:
    """Ids of matching runs, in MLflow's order (default ``start_time DESC, run_id ASC``)."""
    runs = s.runs
    keyed = {
        kind: (table, [table.c.run_uuid == runs.c.run_uuid])
        for kind, table in ((KeyKind.PARAM, s.params), (KeyKind.TAG, s.tags))
    }
    source: FromClause = runs
    aliases: list[FromClause] = []
    # A metric both filtered (with a comparison only numbers satisfy) and ordered on: its order
    # join becomes an inner join carrying those comparisons, with no "NaN or missing last" rank.
    # With the metric leading the order, PostgreSQL then walks ix_latest_metrics_key_value in
    # order and stops at the page's end instead of sorting every matching run.
    ordered_metrics = {o.key.key for o in order_by if o.key.kind is KeyKind.METRIC}
    folded = [c for c in filter if c.ident.kind is KeyKind.METRIC and c.ident.key in ordered_metrics]
    folded = [c for c in folded if c.op in _NUMBERS_ONLY]
    filter = [c for c in filter if c not in folded]

    def expr_for(order: OrderBy) -> list[ColumnElement[Any]]:
        nonlocal source
        kind, key = order.key.kind, order.key.key
        if kind is KeyKind.ATTRIBUTE:
            return _nulls_last(_run_attribute(key), order.ascending)
        table = {KeyKind.METRIC: s.latest_metrics, KeyKind.PARAM: s.params}.get(kind, s.tags)
        alias = table.alias(f"order_{len(aliases)}")
        aliases.append(alias)
        link = and_(alias.c.run_uuid == runs.c.run_uuid, alias.c.key == key)
        required = [compare(alias.c.value, c.op, c.value) for c in folded if c.ident.key == key]
        if kind is KeyKind.METRIC and required:
            source = source.join(alias, and_(link, *required, alias.c.is_nan == false()))
            return [alias.c.value.asc() if order.ascending else alias.c.value.desc()]
        source = source.outerjoin(alias, link)
        if kind is not KeyKind.METRIC:
            return _nulls_last(alias.c.value, order.ascending, joined=True)
        # values first, then NaN, then runs without the metric (MLflow's order)
        rank = case((alias.c.is_nan == true(), 1), (alias.c.run_uuid.is_(None), 2), else_=0)
        return [rank, alias.c.value.asc() if order.ascending else alias.c.value.desc()]

    ordering = _order(order_by, expr_for, [("start_time", False), ("run_id", True)])
    return (
        select(runs.c.run_uuid)
        .select_from(source)
        .where(
            runs.c.workspace_id == workspace_id,
            runs.c.experiment_id.in_(_experiment_ids(experiment_ids)),
            runs.c.lifecycle_stage.in_(_stages(view_type)),
            *_conditions(filter, _run_attribute, keyed, _run_special),
        )
        .order_by(*ordering)
    )


# -- experiments ---------------------------------------------------------------------------


def _int_ids(clause: Comparison) -> Comparison:
    # The API speaks string ids (validated as digits by the parser); the column is numeric.
    if clause.ident != Identifier(KeyKind.ATTRIBUTE, "experiment_id"):
        return clause
    value: Any = clause.value
    return replace(clause, value=tuple(map(int, value)) if isinstance(value, tuple) else int(value))


def select_experiment_ids(
    workspace_id: int, view_type: ViewType, filter: Filter = (), order_by: Sequence[OrderBy] = ()
) -> Select[Any]:
    """Ids of matching experiments; default order ``creation_time DESC, experiment_id ASC``."""
    exps, tags = s.experiments, s.experiment_tags
    links = [tags.c.workspace_id == exps.c.workspace_id, tags.c.experiment_id == exps.c.experiment_id]
    where = _conditions(tuple(map(_int_ids, filter)), exps.c.__getitem__, {KeyKind.TAG: (tags, links)})
    # MLflow's default is creation_time DESC, experiment_id ASC; its tie-breaker is id DESC.
    defaults = [("experiment_id", False)] if order_by else [("creation_time", False), ("experiment_id", True)]
    return (
        select(exps.c.experiment_id)
        .where(exps.c.workspace_id == workspace_id, exps.c.lifecycle_stage.in_(_stages(view_type)), *where)
        .order_by(*_order(order_by, _by_attribute(exps.c.__getitem__), defaults))
    )


# -- registry ------------------------------------------------------------------------------

_RM_COLUMNS = {
    "name": "name",
    "creation_timestamp": "creation_time",
    "last_updated_timestamp": "last_updated_time",
}
_MV_COLUMNS = {**_RM_COLUMNS, "run_id": "run_id", "source_path": "source", "version_number": "version"}


def _without_prompts(filter: Filter, workspace_col: Any, name_col: Any) -> tuple[Filter, list[Any]]:
    """MLflow hides prompts (registry entries tagged ``mlflow.prompt.is_prompt``) by default.

    Unless the filter asks for prompts, clauses on the prompt tag are dropped (plain models
    never carry it, so the client's own ``!= 'true'`` would exclude them all) and prompts
    are excluded explicitly instead. Returns the clauses to apply and the extra conditions.
    """
    prompt = [c for c in filter if c.ident == Identifier(KeyKind.TAG, PROMPT_TAG)]
    wanted = any(
        isinstance(c.value, str)
        and ((c.op is Op.EQ and c.value.lower() == "true") or (c.op is Op.NE and c.value.lower() == "false"))
        for c in prompt
    )
    if wanted:
        return filter, []
    excluded = [
        not_(
            exists().where(
                t.c.workspace_id == workspace_col,
                t.c.name == name_col,
                t.c.key == PROMPT_TAG,
                t.c.value == "true",
            )
        )
        for t in (s.registered_model_tags, s.model_version_tags)
    ]
    return tuple(c for c in filter if c not in prompt), excluded


def select_registered_model_names(
    workspace_id: int, filter: Filter = (), order_by: Sequence[OrderBy] = ()
) -> Select[Any]:
    """Names of matching registered models (prompts excluded unless asked for); name ASC."""
    rm, tags = s.registered_models, s.registered_model_tags
    column = lambda key: rm.c[_RM_COLUMNS[key]]  # noqa: E731
    clauses, where = _without_prompts(filter, rm.c.workspace_id, rm.c.name)
    links = [tags.c.workspace_id == rm.c.workspace_id, tags.c.name == rm.c.name]
    where += _conditions(clauses, column, {KeyKind.TAG: (tags, links)})
    return (
        select(rm.c.name)
        .where(rm.c.workspace_id == workspace_id, *where)
        .order_by(*_order(order_by, _by_attribute(column), [("name", True)]))
    )


def select_model_version_keys(
    workspace_id: int, filter: Filter = (), order_by: Sequence[OrderBy] = ()
) -> Select[Any]:
    """``(name, version)`` of matching, non-deleted model versions.

    Default order is MLflow's ``last_updated_timestamp DESC, name ASC, version_number DESC``.
    """
    mv, tags = s.model_versions, s.model_version_tags
    column = lambda key: mv.c[_MV_COLUMNS[key]]  # noqa: E731
    clauses, where = _without_prompts(filter, mv.c.workspace_id, mv.c.name)
    links = [
        tags.c.workspace_id == mv.c.workspace_id,
        tags.c.name == mv.c.name,
        tags.c.version == mv.c.version,
    ]
    where += _conditions(clauses, column, {KeyKind.TAG: (tags, links)})
    defaults = [("name", True), ("version_number", False)]
    if not order_by:
        defaults.insert(0, ("last_updated_timestamp", False))
    return (
        select(mv.c.name, mv.c.version)
        .where(mv.c.workspace_id == workspace_id, mv.c.deleted == false(), *where)
        .order_by(*_order(order_by, _by_attribute(column), defaults))
    )


# -- logged models ---------------------------------------------------------------------------

_LM_COLUMNS = {
    "creation_timestamp": "creation_timestamp_ms",
    "last_updated_timestamp": "last_updated_timestamp_ms",
}
DatasetRef = tuple[str, str | None]  # (dataset_name, dataset_digest or None)


def _logged_model_attribute(key: str) -> ColumnElement[Any]:
    lm = s.logged_models
    if key == "status":
        return case(LOGGED_MODEL_STATUS, value=lm.c.status, else_="UNSPECIFIED")
    return lm.c[_LM_COLUMNS.get(key, key)]


def _on_datasets(datasets: Sequence[DatasetRef]) -> list[ColumnElement[bool]]:
    m = s.logged_model_metrics
    scopes = [
        and_(m.c.dataset_name == name, *([m.c.dataset_digest == d] if d else [])) for name, d in datasets
    ]
    return [or_(*scopes)] if scopes else []


def select_logged_model_ids(
    workspace_id: int,
    experiment_ids: Iterable[str | int],
    filter: Filter = (),
    order_by: Sequence[OrderBy] = (),
    datasets: Sequence[DatasetRef] = (),
) -> Select[Any]:
    """Ids of matching, non-deleted logged models.

    ``datasets`` scopes metric filters to metrics logged on those datasets (and, with no
    metric filter, keeps only models having some metric on them), as MLflow does. Metric
    filters match any logged value, metric orderings use the latest one (MLflow's rules).
    Default order: ``creation_timestamp DESC, model_id ASC``.
    """
    lm, m = s.logged_models, s.logged_model_metrics
    on_datasets = _on_datasets(datasets)
    keyed = {
        kind: (table, [table.c.model_id == lm.c.model_id])
        for kind, table in ((KeyKind.PARAM, s.logged_model_params), (KeyKind.TAG, s.logged_model_tags))
    }

    def metric(clause: Comparison) -> ColumnElement[bool]:
        matched = compare(m.c.metric_value, clause.op, clause.value)
        return exists().where(
            m.c.model_id == lm.c.model_id, m.c.metric_name == clause.ident.key, *on_datasets, matched
        )

    where = _conditions(filter, _logged_model_attribute, keyed, metric)
    if on_datasets and not any(c.ident.kind is KeyKind.METRIC for c in filter):
        where.append(exists().where(m.c.model_id == lm.c.model_id, *on_datasets))

    def expr_for(order: OrderBy) -> list[ColumnElement[Any]]:
        if order.key.kind is KeyKind.ATTRIBUTE:
            return _nulls_last(_logged_model_attribute(order.key.key), order.ascending)
        scope = _on_datasets([(order.dataset_name, order.dataset_digest)] if order.dataset_name else [])
        latest = (
            select(m.c.metric_value)
            .where(m.c.model_id == lm.c.model_id, m.c.metric_name == order.key.key, *scope)
            .order_by(m.c.metric_timestamp_ms.desc(), m.c.metric_step.desc(), m.c.run_id.asc())
            .limit(1)
            .scalar_subquery()
        )
        return _nulls_last(latest, order.ascending)

    return (
        select(lm.c.model_id)
        .where(
            lm.c.workspace_id == workspace_id,
            lm.c.lifecycle_stage != "deleted",
            lm.c.experiment_id.in_(_experiment_ids(experiment_ids)),
            *where,
        )
        .order_by(*_order(order_by, expr_for, [("creation_timestamp", False), ("model_id", True)]))
    )


__all__ = [
    "CaseSensitiveLike",
    "CodepointOrder",
    "DatasetRef",
    "ViewType",
    "compare",
    "select_experiment_ids",
    "select_logged_model_ids",
    "select_model_version_keys",
    "select_registered_model_names",
    "select_run_ids",
]
