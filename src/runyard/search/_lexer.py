"""Tokenizer for the search grammar: turns filter / order_by text into positioned tokens.

Identifiers are lexed whole (``metrics.`my key```, ``tags.mlflow.runName``) because whether
a ``.`` or a ``-`` belongs to a key depends on what came before it, which a parser working on
separate tokens could no longer see.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class Tok(Enum):
    NAME = "name"
    STRING = "string"
    NUMBER = "number"
    OP = "operator"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    EOF = "end"


@dataclass(frozen=True)
class Name:
    """An identifier: ``head`` alone (``status``, ``AND``) or ``head.key`` (``metrics.rmse``)."""

    head: str
    head_quoted: bool = False
    key: str | None = None


@dataclass(frozen=True)
class Token:
    kind: Tok
    text: str  # the source slice, for error messages
    col: int  # 1-based column of the first character
    value: Name | str | None = None  # Name for NAME, the unescaped text for STRING/NUMBER

    @property
    def keyword(self) -> str | None:
        """Upper-cased word if this token could be a keyword (AND, LIKE, ASC, ...)."""
        value = self.value
        if self.kind is Tok.NAME and isinstance(value, Name) and not value.head_quoted and value.key is None:
            return value.head.upper()
        return None


# Raised by the lexer with (problem, column); the parser adds the "Invalid filter" framing.
Fail = Callable[[str, int], Exception]

_OPERATORS = ("!=", "<>", "==", "<=", ">=", "<", ">", "=")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_HEAD = re.compile(r"[A-Za-z_]\w*")
# Unquoted keys may hold the characters MLflow users put in metric names (``val/loss``,
# ``f1-score``, ``a.b``); MLflow itself demands backquotes for these, we need not.
_KEY = re.compile(r"[\w\-/:.]+")
_PUNCT = {"(": Tok.LPAREN, ")": Tok.RPAREN, ",": Tok.COMMA}


def tokenize(text: str, fail: Fail) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        start = i
        if c in _PUNCT:
            tokens.append(Token(_PUNCT[c], c, start + 1))
            i += 1
        elif c in "'\"":
            value, i = _quoted(text, i, fail)
            tokens.append(Token(Tok.STRING, text[start:i], start + 1, value))
        elif c == "`" or _HEAD.match(text, i):
            name, i = _name(text, i, fail)
            tokens.append(Token(Tok.NAME, text[start:i], start + 1, name))
        elif m := _NUMBER.match(text, i):
            i = m.end()
            if i < n and (text[i].isalnum() or text[i] in "_."):
                raise fail(f"malformed number {_word_at(text, start)!r}", start + 1)
            tokens.append(Token(Tok.NUMBER, m.group(), start + 1, m.group()))
        elif op := next((o for o in _OPERATORS if text.startswith(o, i)), None):
            tokens.append(Token(Tok.OP, op, start + 1, op))
            i += len(op)
        else:
            raise fail(f"unexpected character {c!r}", start + 1)
    tokens.append(Token(Tok.EOF, "", n + 1))
    return tokens


def _name(text: str, i: int, fail: Fail) -> tuple[Name, int]:
    if text[i] == "`":
        head, i = _quoted(text, i, fail)
        head_quoted = True
    else:
        m = _HEAD.match(text, i)
        assert m is not None  # the caller checked
        head, i, head_quoted = m.group(), m.end(), False
    if i >= len(text) or text[i] != ".":
        return Name(head, head_quoted), i
    i += 1  # the dot between prefix and key
    if i < len(text) and text[i] in '`"':
        key, i = _quoted(text, i, fail)
        return Name(head, head_quoted, key), i
    m = _KEY.match(text, i)
    if m is None:
        raise fail(f"expected a key after {text[:i].split()[-1]!r}", i + 1)
    return Name(head, head_quoted, m.group()), m.end()


def _quoted(text: str, i: int, fail: Fail) -> tuple[str, int]:
    """Read a quoted run starting at ``text[i]``; return (unescaped value, index after it).

    A doubled quote or a backslash before the quote stands for the quote itself, so both
    SQL's ``'it''s'`` (which MLflow's own client emits) and ``'it\\'s'`` work. Any other
    backslash is kept, because LIKE patterns use it to escape ``%`` and ``_``.
    """
    quote, start = text[i], i
    out: list[str] = []
    i += 1
    while i < len(text):
        c = text[i]
        if c == quote:
            if text.startswith(quote, i + 1):
                out.append(quote)
                i += 2
                continue
            return "".join(out), i + 1
        if c == "\\" and text.startswith(quote, i + 1):
            out.append(quote)
            i += 2
            continue
        out.append(c)
        i += 1
    what = "backquoted name" if quote == "`" else "string"
    raise fail(f"unterminated {what} starting", start + 1)


def _word_at(text: str, i: int) -> str:
    m = re.compile(r"[^\s(),=<>!]+").match(text, i)
    return m.group() if m else text[i]
