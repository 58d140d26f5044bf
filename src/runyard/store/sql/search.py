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
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    FromClause,
    Select,
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
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("pattern", InternalTraversal.dp_clauseelement),
        ("glob", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], pattern: str) -> None:
        pattern = _close_escape(pattern)
        self.column = column
        self.pattern = literal(pattern)
        self.glob = literal(like_to_glob(pattern))


@compiles(CaseSensitiveLike)
def _like_default(element: CaseSensitiveLike, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column.like(element.pattern, escape="\\"), **kw))


@compiles(CaseSensitiveLike, "sqlite")
def _like_sqlite(element: CaseSensitiveLike, compiler: Any, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} GLOB {compiler.process(element.glob, **kw)}"


def like_to_glob(pattern: str) -> str:
    """Translate a LIKE pattern (``%``, ``_``, backslash escapes) to an equivalent GLOB."""
    out: list[str] = []
    chars = iter(pattern)
    for c in chars:
        if c == "\\":
            out.append(_glob_literal(next(chars, "\\")))
        elif c == "%":
            out.append("*")
        elif c == "_":
            out.append("?")
        else:
            out.append(_glob_literal(c))
    return "".join(out)


def _glob_literal(c: str) -> str:
    return f"[{c}]" if c in "*?[" else c


def _close_escape(pattern: str) -> str:
    # PostgreSQL rejects a pattern ending in a lone escape; read it as a literal backslash.
    trailing = len(pattern) - len(pattern.rstrip("\\"))
    return pattern + "\\" if trailing % 2 else pattern


def compare(col: ColumnElement[Any], op: Op, value: Value) -> ColumnElement[bool]:
    """``col <op> value`` for every comparator except IS [NOT] NULL (handled per table)."""
    if op is Op.LIKE:
        return CaseSensitiveLike(col, str(value))
    if op is Op.ILIKE:
        return col.ilike(_close_escape(str(value)), escape="\\")
    if op is Op.IN:
        return col.in_(list(value or ()))  # type: ignore[arg-type]
    if op is Op.NOT_IN:
        return col.not_in(list(value or ()))  # type: ignore[arg-type]
    return _BINARY[op](col, value)


# -- shared pieces -----------------------------------------------------------------------


def _keyed(
    table: Table, links: Iterable[ColumnElement[bool]], key_col: str, value_col: str, clause: Comparison
) -> ColumnElement[bool]:
    """EXISTS over a (owner, key) -> value table such as params or tags."""
    where = [*links, table.c[key_col] == clause.ident.key]
    if clause.op is Op.IS_NULL:
        return not_(exists().where(*where))
    if clause.op is Op.IS_NOT_NULL:
        return exists().where(*where)
    return exists().where(*where, compare(table.c[value_col], clause.op, clause.value))


def _nulls_last(expr: ColumnElement[Any], ascending: bool) -> list[ColumnElement[Any]]:
    # NULLS LAST spelled portably: SQLite sorts NULL first, PostgreSQL last, MLflow neither.
    return [case((expr.is_(None), 1), else_=0), expr.asc() if ascending else expr.desc()]


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
        raise SearchSyntaxError(f"Invalid experiment ids {list(ids)!r}: expected strings of digits") from None


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
            mentioned.add(key)
    return clauses


# -- runs ----------------------------------------------------------------------------------

_RUN_COLUMNS = {
    "run_id": "run_uuid",
    "run_name": "name",
    "status": "status",
    "artifact_uri": "artifact_uri",
    "user_id": "user_id",
    "lifecycle_stage": "lifecycle_stage",
    "start_time": "start_time",
    "end_time": "end_time",
}


def _run_attribute(key: str) -> ColumnElement[Any]:
    runs = s.runs
    if key == "duration":
        return runs.c.end_time - runs.c.start_time
    return runs.c[_RUN_COLUMNS[key]]


def _run_condition(clause: Comparison) -> ColumnElement[bool]:
    runs, kind, key = s.runs, clause.ident.kind, clause.ident.key
    if kind is KeyKind.ATTRIBUTE:
        return compare(_run_attribute(key), clause.op, clause.value)
    if kind is KeyKind.METRIC:
        lm = s.latest_metrics
        # NaN is stored with is_nan set; like IEEE NaN it satisfies only "!=".
        matched = compare(lm.c.value, clause.op, clause.value)
        matched = (
            or_(matched, lm.c.is_nan == true())
            if clause.op is Op.NE
            else and_(matched, lm.c.is_nan == false())
        )
        return exists().where(lm.c.run_uuid == runs.c.run_uuid, lm.c.key == key, matched)
    if kind in (KeyKind.PARAM, KeyKind.TAG):
        table = s.params if kind is KeyKind.PARAM else s.tags
        return _keyed(table, [table.c.run_uuid == runs.c.run_uuid], "key", "value", clause)
    inputs = s.inputs
    if key == "context":
        tags = s.input_tags
        return exists(
            select(1)
            .select_from(inputs.join(tags, tags.c.input_uuid == inputs.c.input_uuid))
            .where(
                inputs.c.destination_id == runs.c.run_uuid,
                tags.c.name == DATASET_CONTEXT_TAG,
                compare(tags.c.value, clause.op, clause.value),
            )
        )
    ds = s.datasets
    return exists(
        select(1)
        .select_from(inputs.join(ds, ds.c.dataset_uuid == inputs.c.source_id))
        .where(inputs.c.destination_id == runs.c.run_uuid, compare(ds.c[key], clause.op, clause.value))
    )


def select_run_ids(
    workspace_id: int,
    experiment_ids: Iterable[str | int],
    view_type: ViewType,
    filter: Filter = (),
    order_by: Sequence[OrderBy] = (),
) -> Select[Any]:
    """Ids of matching runs, in MLflow's order (default ``start_time DESC, run_id ASC``)."""
    runs = s.runs
    source: FromClause = runs
    joined: list[ColumnElement[Any]] = []

    def expr_for(order: OrderBy) -> list[ColumnElement[Any]]:
        nonlocal source
        kind, key = order.key.kind, order.key.key
        if kind is KeyKind.ATTRIBUTE:
            if key == "run_id":
                return [runs.c.run_uuid.asc() if order.ascending else runs.c.run_uuid.desc()]
            return _nulls_last(_run_attribute(key), order.ascending)
        table = {KeyKind.METRIC: s.latest_metrics, KeyKind.PARAM: s.params}.get(kind, s.tags)
        alias = table.alias(f"order_{len(joined)}")
        joined.append(alias.c.run_uuid)
        source = source.outerjoin(alias, and_(alias.c.run_uuid == runs.c.run_uuid, alias.c.key == key))
        direction = alias.c.value.asc() if order.ascending else alias.c.value.desc()
        if kind is KeyKind.METRIC:  # values, then NaN, then runs without the metric
            rank = case((alias.c.is_nan == true(), 1), (alias.c.run_uuid.is_(None), 2), else_=0)
            return [rank, direction]
        return [case((alias.c.value.is_(None), 1), else_=0), direction]

    ordering = _order(order_by, expr_for, [("start_time", False), ("run_id", True)])
    return (
        select(runs.c.run_uuid)
        .select_from(source)
        .where(
            runs.c.workspace_id == workspace_id,
            runs.c.experiment_id.in_(_experiment_ids(experiment_ids)),
            runs.c.lifecycle_stage.in_(_stages(view_type)),
            *(_run_condition(c) for c in filter),
        )
        .order_by(*ordering)
    )


# -- experiments ---------------------------------------------------------------------------


def select_experiment_ids(
    workspace_id: int, view_type: ViewType, filter: Filter = (), order_by: Sequence[OrderBy] = ()
) -> Select[Any]:
    """Ids of matching experiments; default order ``creation_time DESC, experiment_id ASC``."""
    exps, tags = s.experiments, s.experiment_tags
    where: list[ColumnElement[bool]] = []
    for clause in filter:
        if clause.ident.kind is KeyKind.TAG:
            links = [tags.c.workspace_id == exps.c.workspace_id, tags.c.experiment_id == exps.c.experiment_id]
            where.append(_keyed(tags, links, "key", "value", clause))
            continue
        value = clause.value
        if clause.ident.key == "experiment_id":  # validated as digits by the parser
            value = tuple(int(v) for v in value) if isinstance(value, tuple) else int(str(value))
        where.append(compare(exps.c[clause.ident.key], clause.op, value))

    def expr_for(order: OrderBy) -> list[ColumnElement[Any]]:
        return _nulls_last(exps.c[order.key.key], order.ascending)

    defaults = [("experiment_id", False)] if order_by else [("creation_time", False), ("experiment_id", True)]
    return (
        select(exps.c.experiment_id)
        .where(exps.c.workspace_id == workspace_id, exps.c.lifecycle_stage.in_(_stages(view_type)), *where)
        .order_by(*_order(order_by, expr_for, defaults))
    )


# -- registry ------------------------------------------------------------------------------

_RM_COLUMNS = {
    "name": "name",
    "creation_timestamp": "creation_time",
    "last_updated_timestamp": "last_updated_time",
}
_MV_COLUMNS = {**_RM_COLUMNS, "run_id": "run_id", "source_path": "source", "version_number": "version"}


def _split_prompt_clauses(filter: Filter) -> tuple[Filter, bool]:
    """MLflow hides prompts unless the filter asks for them via the prompt tag.

    Returns the clauses to apply and whether prompts are wanted. When they are not, clauses
    on the prompt tag are dropped (plain models never carry it, so ``!= 'true'`` would
    wrongly exclude them) and prompts are excluded instead.
    """
    prompt = [c for c in filter if c.ident == Identifier(KeyKind.TAG, PROMPT_TAG)]
    wanted = any(
        isinstance(c.value, str)
        and ((c.op is Op.EQ and c.value.lower() == "true") or (c.op is Op.NE and c.value.lower() == "false"))
        for c in prompt
    )
    return (filter if wanted else tuple(c for c in filter if c not in prompt)), wanted


def _not_prompt(workspace_id_col: ColumnElement[Any], name_col: ColumnElement[Any]) -> ColumnElement[bool]:
    rmt, mvt = s.registered_model_tags, s.model_version_tags
    return and_(
        *(
            not_(
                exists().where(
                    t.c.workspace_id == workspace_id_col,
                    t.c.name == name_col,
                    t.c.key == PROMPT_TAG,
                    t.c.value == "true",
                )
            )
            for t in (rmt, mvt)
        )
    )


def select_registered_model_names(
    workspace_id: int, filter: Filter = (), order_by: Sequence[OrderBy] = ()
) -> Select[Any]:
    """Names of matching registered models (prompts excluded unless asked for); name ASC."""
    rm, tags = s.registered_models, s.registered_model_tags
    clauses, prompts_wanted = _split_prompt_clauses(filter)
    where = [rm.c.workspace_id == workspace_id]
    if not prompts_wanted:
        where.append(_not_prompt(rm.c.workspace_id, rm.c.name))
    for clause in clauses:
        if clause.ident.kind is KeyKind.TAG:
            links = [tags.c.workspace_id == rm.c.workspace_id, tags.c.name == rm.c.name]
            where.append(_keyed(tags, links, "key", "value", clause))
        else:
            where.append(compare(rm.c[_RM_COLUMNS[clause.ident.key]], clause.op, clause.value))

    def expr_for(order: OrderBy) -> list[ColumnElement[Any]]:
        return _nulls_last(rm.c[_RM_COLUMNS[order.key.key]], order.ascending)

    return select(rm.c.name).where(*where).order_by(*_order(order_by, expr_for, [("name", True)]))


def select_model_version_keys(
    workspace_id: int, filter: Filter = (), order_by: Sequence[OrderBy] = ()
) -> Select[Any]:
    """``(name, version)`` of matching, non-deleted model versions.

    Default order is MLflow's ``last_updated_timestamp DESC, name ASC, version_number DESC``.
    """
    mv, tags = s.model_versions, s.model_version_tags
    clauses, prompts_wanted = _split_prompt_clauses(filter)
    where = [mv.c.workspace_id == workspace_id, mv.c.deleted == false()]
    if not prompts_wanted:
        where.append(_not_prompt(mv.c.workspace_id, mv.c.name))
    for clause in clauses:
        if clause.ident.kind is KeyKind.TAG:
            links = [
                tags.c.workspace_id == mv.c.workspace_id,
                tags.c.name == mv.c.name,
                tags.c.version == mv.c.version,
            ]
            where.append(_keyed(tags, links, "key", "value", clause))
        else:
            where.append(compare(mv.c[_MV_COLUMNS[clause.ident.key]], clause.op, clause.value))

    def expr_for(order: OrderBy) -> list[ColumnElement[Any]]:
        return _nulls_last(mv.c[_MV_COLUMNS[order.key.key]], order.ascending)

    defaults = [("name", True), ("version_number", False)]
    if not order_by:
        defaults.insert(0, ("last_updated_timestamp", False))
    return select(mv.c.name, mv.c.version).where(*where).order_by(*_order(order_by, expr_for, defaults))


# -- logged models ---------------------------------------------------------------------------

_LM_COLUMNS = {
    "name": "name",
    "model_id": "model_id",
    "model_type": "model_type",
    "source_run_id": "source_run_id",
    "creation_timestamp": "creation_timestamp_ms",
    "last_updated_timestamp": "last_updated_timestamp_ms",
}
DatasetRef = tuple[str, str | None]  # (dataset_name, dataset_digest or None)


def _logged_model_attribute(key: str) -> ColumnElement[Any]:
    lm = s.logged_models
    if key == "status":
        return case(LOGGED_MODEL_STATUS, value=lm.c.status, else_="UNSPECIFIED")
    return lm.c[_LM_COLUMNS[key]]


def _on_datasets(datasets: Sequence[DatasetRef]) -> list[ColumnElement[bool]]:
    m = s.logged_model_metrics
    if not datasets:
        return []
    return [
        or_(
            *(
                and_(m.c.dataset_name == name, *([m.c.dataset_digest == digest] if digest else []))
                for name, digest in datasets
            )
        )
    ]


def select_logged_model_ids(
    workspace_id: int,
    experiment_ids: Iterable[str | int],
    filter: Filter = (),
    order_by: Sequence[OrderBy] = (),
    datasets: Sequence[DatasetRef] = (),
) -> Select[Any]:
    """Ids of matching, non-deleted logged models.

    ``datasets`` scopes metric filters to metrics logged on those datasets (and, with no
    metric filter, keeps only models having some metric on them), as MLflow does. Default
    order: ``creation_timestamp DESC, model_id ASC``.
    """
    lm, m = s.logged_models, s.logged_model_metrics
    where = [
        lm.c.workspace_id == workspace_id,
        lm.c.lifecycle_stage != "deleted",
        lm.c.experiment_id.in_(_experiment_ids(experiment_ids)),
    ]
    on_datasets = _on_datasets(datasets)
    for clause in filter:
        kind = clause.ident.kind
        if kind is KeyKind.ATTRIBUTE:
            where.append(compare(_logged_model_attribute(clause.ident.key), clause.op, clause.value))
        elif kind is KeyKind.METRIC:
            where.append(
                exists().where(
                    m.c.model_id == lm.c.model_id,
                    m.c.metric_name == clause.ident.key,
                    *on_datasets,
                    compare(m.c.metric_value, clause.op, clause.value),
                )
            )
        else:
            table = s.logged_model_params if kind is KeyKind.PARAM else s.logged_model_tags
            where.append(_keyed(table, [table.c.model_id == lm.c.model_id], "key", "value", clause))
    if on_datasets and not any(c.ident.kind is KeyKind.METRIC for c in filter):
        where.append(exists().where(m.c.model_id == lm.c.model_id, *on_datasets))

    def expr_for(order: OrderBy) -> list[ColumnElement[Any]]:
        if order.key.kind is KeyKind.ATTRIBUTE:
            return _nulls_last(_logged_model_attribute(order.key.key), order.ascending)
        scope = [(order.dataset_name, order.dataset_digest)] if order.dataset_name else []
        latest = (
            select(m.c.metric_value)
            .where(m.c.model_id == lm.c.model_id, m.c.metric_name == order.key.key, *_on_datasets(scope))
            .order_by(m.c.metric_timestamp_ms.desc(), m.c.metric_step.desc(), m.c.run_id.asc())
            .limit(1)
            .scalar_subquery()
        )
        return _nulls_last(latest, order.ascending)

    defaults = [("creation_timestamp", False), ("model_id", True)]
    return select(lm.c.model_id).where(*where).order_by(*_order(order_by, expr_for, defaults))


__all__ = [
    "CaseSensitiveLike",
    "DatasetRef",
    "ViewType",
    "compare",
    "like_to_glob",
    "select_experiment_ids",
    "select_logged_model_ids",
    "select_model_version_keys",
    "select_registered_model_names",
    "select_run_ids",
]
