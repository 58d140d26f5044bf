"""The one exception the search grammar raises; the API maps it to INVALID_PARAMETER_VALUE."""

from __future__ import annotations


class SearchSyntaxError(ValueError):
    """A filter, order_by clause or page token that cannot be accepted.

    ``message`` is complete and user-facing (it already names the offending text and, where
    there is one, the 1-based column), so callers pass it through unchanged.
    """

    def __init__(self, message: str, *, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.column = column
