"""MLflow search grammar: filter and order_by text -> typed AST, plus page tokens.

Pure Python; ``runyard.store.sql.search`` compiles the AST into SQL.
"""

from runyard.search.ast import (
    Comparison,
    Filter,
    Identifier,
    KeyKind,
    Op,
    OrderBy,
    SearchEntity,
    Value,
)
from runyard.search.errors import SearchSyntaxError
from runyard.search.page_token import decode_page_token, encode_page_token, query_fingerprint
from runyard.search.parse import (
    parse_experiment_filter,
    parse_filter,
    parse_logged_model_filter,
    parse_logged_model_order_by,
    parse_model_version_filter,
    parse_order_by,
    parse_registered_model_filter,
    parse_run_filter,
)

__all__ = [
    "Comparison",
    "Filter",
    "Identifier",
    "KeyKind",
    "Op",
    "OrderBy",
    "SearchEntity",
    "SearchSyntaxError",
    "Value",
    "decode_page_token",
    "encode_page_token",
    "parse_experiment_filter",
    "parse_filter",
    "parse_logged_model_filter",
    "parse_logged_model_order_by",
    "parse_model_version_filter",
    "parse_order_by",
    "parse_registered_model_filter",
    "parse_run_filter",
    "query_fingerprint",
]
