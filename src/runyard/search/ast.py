"""Typed syntax tree for MLflow search filters and order_by clauses.

Nodes are frozen dataclasses holding canonical names only (aliases such as ``created`` or
``params`` are already resolved), so the SQL compiler never re-interprets user spelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class SearchEntity(str, Enum):
    """Which search endpoint a filter belongs to; each accepts a different subset."""

    RUNS = "runs"
    EXPERIMENTS = "experiments"
    REGISTERED_MODELS = "registered_models"
    MODEL_VERSIONS = "model_versions"
    LOGGED_MODELS = "logged_models"


class KeyKind(str, Enum):
    ATTRIBUTE = "attributes"
    METRIC = "metrics"
    PARAM = "params"
    TAG = "tags"
    DATASET = "datasets"


class Op(str, Enum):
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    LIKE = "LIKE"
    ILIKE = "ILIKE"
    IN = "IN"
    NOT_IN = "NOT IN"
    IS_NULL = "IS NULL"
    IS_NOT_NULL = "IS NOT NULL"


@dataclass(frozen=True)
class Identifier:
    """``kind`` plus canonical ``key``: ``Identifier(KeyKind.METRIC, "rmse")``."""

    kind: KeyKind
    key: str

    def __str__(self) -> str:
        if self.kind is KeyKind.ATTRIBUTE:
            return self.key
        plain = self.key.replace("_", "a").replace(".", "a").isalnum()
        return f"{self.kind.value}.{self.key}" if plain else f"{self.kind.value}.`{self.key}`"


# str for params/tags/string attributes, float for metrics, int|float for numeric
# attributes, a non-empty tuple of str for IN / NOT IN, None for IS [NOT] NULL.
Value = str | int | float | tuple[str, ...] | None


@dataclass(frozen=True)
class Comparison:
    """One clause; a filter is a tuple of these, implicitly joined with AND."""

    ident: Identifier
    op: Op
    value: Value


Filter = tuple[Comparison, ...]


@dataclass(frozen=True)
class OrderBy:
    """One order_by term. ``dataset_*`` only ever appear on logged-model metric orderings."""

    key: Identifier
    ascending: bool = True
    dataset_name: str | None = None
    dataset_digest: str | None = None


__all__ = [
    "Comparison",
    "Filter",
    "Identifier",
    "KeyKind",
    "Op",
    "OrderBy",
    "SearchEntity",
    "Value",
]
