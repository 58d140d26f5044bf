"""A page of results plus the opaque token for the next one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from runyard.errors import InvalidParameter
from runyard.search.page_token import decode_page_token, encode_page_token

T = TypeVar("T")

ACTIVE_ONLY, DELETED_ONLY, ALL = 1, 2, 3
_VIEW_TYPES = {"ACTIVE_ONLY": ACTIVE_ONLY, "DELETED_ONLY": DELETED_ONLY, "ALL": ALL}


@dataclass
class Page(Generic[T]):
    items: list[T] = field(default_factory=list)
    next_page_token: str | None = None


def offset_page(
    page_token: str | None, fingerprint: str, limit: int, fetch: Callable[[int, int], list[T]]
) -> Page[T]:
    """One page by offset: ``fetch(offset, n)`` returns up to n items; asking for one more
    than the page holds tells whether a next page exists without a COUNT query."""
    offset = decode_page_token(page_token, fingerprint)
    found = fetch(offset, limit + 1)
    token = encode_page_token(offset + limit, fingerprint) if len(found) > limit else None
    return Page(found[:limit], token)


def view_type(value: str | int | None) -> int:
    """MLflow's ViewType, sent as a name (JSON) or a number (query strings)."""
    if value is None or value == "":
        return ACTIVE_ONLY
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        n = int(value)
        if n in (ACTIVE_ONLY, DELETED_ONLY, ALL):
            return n
    elif value.upper() in _VIEW_TYPES:
        return _VIEW_TYPES[value.upper()]
    raise InvalidParameter(f"Invalid view_type '{value}'. Allowed values: ACTIVE_ONLY, DELETED_ONLY, ALL.")


def lifecycle_stages(view: int) -> tuple[str, ...]:
    return {ACTIVE_ONLY: ("active",), DELETED_ONLY: ("deleted",), ALL: ("active", "deleted")}[view]


__all__ = ["ACTIVE_ONLY", "ALL", "DELETED_ONLY", "Page", "lifecycle_stages", "view_type"]
