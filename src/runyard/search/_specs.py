"""What each search endpoint accepts: prefixes, attributes, aliases and comparators.

The tables follow MLflow 3.17's ``search_utils.py`` and its SQL stores (which reject more
than the parser does). Where MLflow accepts something only to fail later, or crashes, we
pick the useful reading instead; those places are marked "superset".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from runyard.search.ast import KeyKind, Op, SearchEntity

NUMERIC_OPS = frozenset({Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE})
STRING_OPS = frozenset({Op.EQ, Op.NE, Op.LIKE, Op.ILIKE})
LIST_OPS = frozenset({Op.IN, Op.NOT_IN})
NULL_OPS = frozenset({Op.IS_NULL, Op.IS_NOT_NULL})

# Display order for "expected one of ..." lists.
OP_ORDER = (
    Op.EQ,
    Op.NE,
    Op.LT,
    Op.LE,
    Op.GT,
    Op.GE,
    Op.LIKE,
    Op.ILIKE,
    Op.IN,
    Op.NOT_IN,
    Op.IS_NULL,
    Op.IS_NOT_NULL,
)


@dataclass(frozen=True)
class Attr:
    """A searchable attribute column as the API names it."""

    numeric: bool = False
    ops: frozenset[Op] = STRING_OPS
    filterable: bool = True
    orderable: bool = True
    # version_number = '3' is accepted by MLflow's SQL store, so we accept it too.
    digits_as_number: bool = False


def _num(**kw: bool) -> Attr:
    return Attr(numeric=True, ops=NUMERIC_OPS, **kw)


@dataclass(frozen=True)
class Spec:
    entity: SearchEntity
    prefixes: Mapping[str, KeyKind]
    attributes: Mapping[str, Attr]
    kind_ops: Mapping[KeyKind, frozenset[Op]] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)  # filter and order_by
    order_aliases: Mapping[str, str] = field(default_factory=dict)  # order_by only
    order_kinds: frozenset[KeyKind] = frozenset({KeyKind.ATTRIBUTE})
    dataset_keys: frozenset[str] = frozenset()
    # Logged-model params are compared to bare numbers in MLflow's own docs (params.lr = 0.01).
    params_accept_numbers: bool = False

    def ops_for(self, kind: KeyKind, key: str) -> frozenset[Op]:
        if kind is KeyKind.ATTRIBUTE:
            return self.attributes[key].ops
        return self.kind_ops[kind]

    def is_numeric(self, kind: KeyKind, key: str) -> bool:
        if kind is KeyKind.ATTRIBUTE:
            return self.attributes[key].numeric
        return kind is KeyKind.METRIC

    def identifier_hint(self) -> str:
        kinds = sorted(
            {k for k in self.prefixes.values() if k is not KeyKind.ATTRIBUTE},
            key=lambda k: list(KeyKind).index(k),
        )
        shown = [f"{k.value}.<key>" for k in kinds] + ["an attribute"]
        return ", ".join(shown[:-1]) + " or " + shown[-1] if len(shown) > 1 else shown[0]


_ATTR_PREFIXES = {"attribute": KeyKind.ATTRIBUTE, "attributes": KeyKind.ATTRIBUTE, "attr": KeyKind.ATTRIBUTE}
_TAG_PREFIXES = {"tag": KeyKind.TAG, "tags": KeyKind.TAG}
_METRIC_PREFIXES = {"metric": KeyKind.METRIC, "metrics": KeyKind.METRIC}
_PARAM_PREFIXES = {p: KeyKind.PARAM for p in ("param", "params", "parameter", "parameters")}
_KEYED_TAG_OPS = STRING_OPS | NULL_OPS

RUNS = Spec(
    entity=SearchEntity.RUNS,
    prefixes={
        **_ATTR_PREFIXES,
        "run": KeyKind.ATTRIBUTE,
        **_METRIC_PREFIXES,
        **_PARAM_PREFIXES,
        **_TAG_PREFIXES,
        "dataset": KeyKind.DATASET,
        "datasets": KeyKind.DATASET,
    },
    attributes={
        "run_id": Attr(ops=STRING_OPS | LIST_OPS),
        "run_name": Attr(ops=STRING_OPS | LIST_OPS),
        "status": Attr(ops=STRING_OPS | LIST_OPS),
        "artifact_uri": Attr(ops=STRING_OPS | LIST_OPS),
        "user_id": Attr(ops=STRING_OPS | LIST_OPS),
        "lifecycle_stage": Attr(),  # superset: not searchable in MLflow
        "start_time": _num(),
        "end_time": _num(),
        "duration": _num(),  # superset: end_time - start_time
    },
    kind_ops={
        KeyKind.METRIC: NUMERIC_OPS,
        KeyKind.PARAM: _KEYED_TAG_OPS,
        KeyKind.TAG: _KEYED_TAG_OPS,
        KeyKind.DATASET: STRING_OPS | LIST_OPS,
    },
    aliases={
        "created": "start_time",
        "Created": "start_time",
        "run name": "run_name",
        "Run name": "run_name",
        "Run Name": "run_name",
    },
    order_kinds=frozenset({KeyKind.ATTRIBUTE, KeyKind.METRIC, KeyKind.PARAM, KeyKind.TAG}),
    dataset_keys=frozenset({"name", "digest", "context"}),
)

EXPERIMENTS = Spec(
    entity=SearchEntity.EXPERIMENTS,
    prefixes={**_ATTR_PREFIXES, **_TAG_PREFIXES},  # superset: MLflow takes only "attribute."
    attributes={
        "name": Attr(),
        "experiment_id": Attr(ops=frozenset({Op.EQ, Op.NE}) | LIST_OPS),
        "creation_time": _num(),
        "last_update_time": _num(),
    },
    kind_ops={KeyKind.TAG: _KEYED_TAG_OPS},
)

REGISTERED_MODELS = Spec(
    entity=SearchEntity.REGISTERED_MODELS,
    prefixes={**_ATTR_PREFIXES, **_TAG_PREFIXES},
    attributes={
        "name": Attr(ops=STRING_OPS | LIST_OPS),
        "creation_timestamp": _num(),  # superset: order-only in MLflow
        "last_updated_timestamp": _num(),
    },
    # superset: MLflow's registry crashes on IS NULL instead of answering
    kind_ops={KeyKind.TAG: _KEYED_TAG_OPS},
    order_aliases={"timestamp": "last_updated_timestamp"},
)

MODEL_VERSIONS = Spec(
    entity=SearchEntity.MODEL_VERSIONS,
    prefixes={**_ATTR_PREFIXES, **_TAG_PREFIXES},
    attributes={
        "name": Attr(ops=STRING_OPS | LIST_OPS),
        "run_id": Attr(ops=STRING_OPS | LIST_OPS, orderable=False),
        "source_path": Attr(orderable=False),
        "version_number": _num(digits_as_number=True),
        "creation_timestamp": _num(),
        "last_updated_timestamp": _num(),
    },
    kind_ops={KeyKind.TAG: _KEYED_TAG_OPS},
)

LOGGED_MODELS = Spec(
    entity=SearchEntity.LOGGED_MODELS,
    prefixes={**_ATTR_PREFIXES, **_METRIC_PREFIXES, **_PARAM_PREFIXES, **_TAG_PREFIXES},
    attributes={
        "name": Attr(ops=STRING_OPS | LIST_OPS),
        "model_id": Attr(ops=STRING_OPS | LIST_OPS),
        "model_type": Attr(ops=STRING_OPS | LIST_OPS),
        "status": Attr(ops=STRING_OPS | LIST_OPS),
        "source_run_id": Attr(ops=STRING_OPS | LIST_OPS),
        "creation_timestamp": _num(),
        "last_updated_timestamp": _num(),
    },
    kind_ops={
        KeyKind.METRIC: NUMERIC_OPS,
        KeyKind.PARAM: STRING_OPS | LIST_OPS | NULL_OPS,
        KeyKind.TAG: STRING_OPS | LIST_OPS | NULL_OPS,
    },
    aliases={"creation_time": "creation_timestamp", "last_updated_time": "last_updated_timestamp"},
    order_kinds=frozenset({KeyKind.ATTRIBUTE, KeyKind.METRIC}),
    params_accept_numbers=True,
)

SPECS: dict[SearchEntity, Spec] = {
    s.entity: s for s in (RUNS, EXPERIMENTS, REGISTERED_MODELS, MODEL_VERSIONS, LOGGED_MODELS)
}


def spec_for(entity: SearchEntity | str) -> Spec:
    try:
        return SPECS[SearchEntity(entity)]
    except ValueError:
        names = ", ".join(e.value for e in SearchEntity)
        raise ValueError(f"unknown search entity {entity!r}; expected one of {names}") from None
