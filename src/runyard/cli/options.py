"""Click options generated from the settings registry, so flags, RUNYARD_* variables and
defaults can never drift apart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from runyard.config import setting


def setting_option(name: str) -> Callable[[Any], Any]:
    s = setting(name)
    default_text = "see help" if callable(s.default) else s.default
    if s.type is bool:
        flag = s.flag
        neg = "--no-" + flag[2:]
        return click.option(
            f"{flag}/{neg}",
            name,
            default=None,
            help=f"{s.help} [env {s.env}; default {default_text}]",
        )
    return click.option(
        s.flag,
        name,
        type=s.type,
        default=None,
        help=f"{s.help} [env {s.env}; default {default_text}]",
    )


def setting_options(*names: str) -> Callable[[Any], Any]:
    def deco(fn: Any) -> Any:
        for name in reversed(names):
            fn = setting_option(name)(fn)
        return fn

    return deco
