"""Base classes shared by every wire message."""

from __future__ import annotations

import math

import msgspec


class Message(msgspec.Struct, omit_defaults=True, kw_only=True):
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
