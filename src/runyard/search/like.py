"""What a LIKE pattern means in Runyard filters, independent of any database.

``%`` matches any run of characters, ``_`` exactly one, and a backslash makes the next
character literal (PostgreSQL's default, so ``'50\\%'`` finds "50%"). The SQL compiler uses
:func:`like_to_glob` where the database's own LIKE differs (SQLite ignores case);
:func:`like_matches` is the reference the SQL is tested against.
"""

from __future__ import annotations

import re
from collections.abc import Callable


def close_escape(pattern: str) -> str:
    """A trailing lone backslash escapes nothing; make it a literal backslash."""
    trailing = len(pattern) - len(pattern.rstrip("\\"))
    return pattern + "\\" if trailing % 2 else pattern


def like_to_glob(pattern: str) -> str:
    """Translate a LIKE pattern into an equivalent (case-sensitive) SQLite GLOB pattern."""
    return "".join(_translate(pattern, many="*", one="?", literal=_glob_literal))


def like_matches(value: str, pattern: str, *, case_sensitive: bool = True) -> bool:
    regex = "".join(_translate(pattern, many=".*", one=".", literal=re.escape))
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    return re.fullmatch(regex, value, flags) is not None


def _translate(pattern: str, *, many: str, one: str, literal: Callable[[str], str]) -> list[str]:
    out: list[str] = []
    chars = iter(pattern)
    for c in chars:
        if c == "\\":
            out.append(literal(next(chars, "\\")))
        elif c == "%":
            out.append(many)
        elif c == "_":
            out.append(one)
        else:
            out.append(literal(c))
    return out


def _glob_literal(c: str) -> str:
    # In GLOB only *, ? and [ are special, and a one-character class makes any of them literal.
    return f"[{c}]" if c in "*?[" else c


__all__ = ["close_escape", "like_matches", "like_to_glob"]
