"""Base classes shared by every wire message."""

from __future__ import annotations

import math

import msgspec


# gc=False: messages are trees, never cycles, so the garbage collector need not track them;
# a search page builds tens of thousands and tracking them cost a good part of its time.
class Message(msgspec.Struct, omit_defaults=True, kw_only=True, gc=False):
    """A request or response body. Unset (default) fields are left out of the JSON."""


class Empty(Message):
    """Responses that carry nothing: ``{}``."""


class KeyValue(Message):
    key: str
    value: str | None = None


def wire_float(value: float) -> float | str:
    """JSON has no NaN/Infinity; MLflow sends them as these strings."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


__all__ = ["Empty", "KeyValue", "Message", "wire_float"]
