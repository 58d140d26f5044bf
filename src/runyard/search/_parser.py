"""Recursive-descent parser for search filters and order_by clauses.

Grammar (keywords are case-insensitive)::

    filter     := [clause (AND clause)*]
    clause     := identifier comparator value
    comparator := = | != | < | <= | > | >= | LIKE | ILIKE | IN | NOT IN | IS [NOT] NULL
    value      := STRING | NUMBER | '(' STRING (',' STRING)* [','] ')'
    order_by   := identifier [ASC | DESC]

Syntax and meaning are checked in the same pass so that every error can point at the
column of the token that caused it.
"""

from __future__ import annotations

from runyard.search._lexer import Name, Tok, Token, tokenize
from runyard.search._specs import OP_ORDER, Spec
from runyard.search.ast import Comparison, Filter, Identifier, KeyKind, Op, OrderBy, Value
from runyard.search.errors import SearchSyntaxError

_SYMBOL_OPS = {"=": Op.EQ, "!=": Op.NE, "<": Op.LT, "<=": Op.LE, ">": Op.GT, ">=": Op.GE}
_ANY_OP = "one of = != < <= > >= LIKE ILIKE IN NOT IN IS"
_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE"})
_MAX_SHOWN = 300  # keep error messages readable when someone sends a megabyte of filter


class Parser:
    """Holds one input string; ``what`` names it in messages ("filter", "order_by")."""

    def __init__(self, text: str, what: str, spec: Spec) -> None:
        self.text, self.what, self.spec = text, what, spec
        self.tokens = tokenize(text, self.error)
        self.pos = 0

    # -- token plumbing ---------------------------------------------------------------

    def error(self, problem: str, col: int, expected: str | None = None) -> SearchSyntaxError:
        shown = self.text if len(self.text) <= _MAX_SHOWN else self.text[:_MAX_SHOWN] + "..."
        message = f'Invalid {self.what} "{shown}": {problem} at column {col}'
        if expected:
            message += f"; expected {expected}"
        return SearchSyntaxError(message, column=col)

    def unexpected(self, expected: str) -> SearchSyntaxError:
        tok = self.peek()
        shown = f"end of {self.what}" if tok.kind is Tok.EOF else repr(tok.text)
        return self.error(f"unexpected {shown}", tok.col, expected)

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        tok = self.tokens[self.pos]
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return tok

    def at_end(self) -> bool:
        return self.peek().kind is Tok.EOF

    # -- grammar ----------------------------------------------------------------------

    def filter(self) -> Filter:
        clauses = [self.clause()]
        while not self.at_end():
            if self.peek().keyword != "AND":
                raise self.unexpected(f"AND or the end of the {self.what}")
            self.advance()
            clauses.append(self.clause())
        return tuple(clauses)

    def clause(self) -> Comparison:
        ident, _ = self.identifier(for_order=False)
        op_tok = self.peek()
        op = self.comparator()
        allowed = self.spec.ops_for(ident.kind, ident.key)
        if op not in allowed:
            shown = " ".join(o.value for o in OP_ORDER if o in allowed)
            raise self.error(f"{op.value} is not supported for {ident}", op_tok.col, f"one of {shown}")
        return Comparison(ident, op, self.value(ident, op))

    def identifier(self, *, for_order: bool) -> tuple[Identifier, Token]:
        tok = self.peek()
        hint = f"an identifier such as {self.spec.identifier_hint()}"
        if tok.kind is Tok.NAME and isinstance(tok.value, Name):
            name = tok.value
            if tok.keyword in _KEYWORDS:
                raise self.unexpected(hint)
        elif tok.kind is Tok.STRING and tok.text.startswith('"'):
            # MLflow (via sqlparse) reads a double-quoted word on the left as a name.
            name = Name(str(tok.value), head_quoted=True)
        else:
            raise self.unexpected(hint)
        self.advance()
        if name.key is None:
            kind, key = KeyKind.ATTRIBUTE, name.head
        else:
            found = self.spec.prefixes.get(name.head)
            if found is None:
                prefixes = ", ".join(sorted(self.spec.prefixes))
                raise self.error(f"unsupported prefix {name.head!r}", tok.col, f"one of {prefixes}")
            kind, key = found, name.key
        if not key:
            raise self.error("empty key", tok.col, hint)
        key = self._canonical(kind, key, tok, for_order=for_order)
        return Identifier(kind, key), tok

    def _canonical(self, kind: KeyKind, key: str, tok: Token, *, for_order: bool) -> str:
        spec = self.spec
        if for_order and kind not in spec.order_kinds:
            kinds = [f"{k.value}.<key>" for k in KeyKind if k in spec.order_kinds - {KeyKind.ATTRIBUTE}]
            allowed = ", ".join(kinds) + " or an attribute" if kinds else "an attribute"
            raise self.error(f"cannot order {spec.entity.value} by {kind.value}", tok.col, allowed)
        if kind is KeyKind.DATASET and key not in spec.dataset_keys:
            keys = ", ".join(sorted(spec.dataset_keys))
            raise self.error(f"unknown dataset field {key!r}", tok.col, f"one of {keys}")
        if kind is not KeyKind.ATTRIBUTE:
            return key
        key = spec.aliases.get(key, key)
        if for_order:
            key = spec.order_aliases.get(key, key)
        attr = spec.attributes.get(key)
        usable = sorted(
            name for name, a in spec.attributes.items() if (a.orderable if for_order else a.filterable)
        )
        if attr is None or key not in usable:
            raise self.error(f"unknown attribute {key!r}", tok.col, "one of " + ", ".join(usable))
        return key

    def comparator(self) -> Op:
        tok = self.peek()
        if tok.kind is Tok.OP:
            if tok.text not in _SYMBOL_OPS:
                raise self.unexpected(_ANY_OP)
            self.advance()
            return _SYMBOL_OPS[tok.text]
        word = tok.keyword
        if word in ("LIKE", "ILIKE", "IN"):
            self.advance()
            return Op(word)
        if word == "NOT":
            self.advance()
            if self.peek().keyword != "IN":
                raise self.unexpected("IN after NOT")
            self.advance()
            return Op.NOT_IN
        if word == "IS":
            self.advance()
            negated = self.peek().keyword == "NOT"
            if negated:
                self.advance()
            if self.peek().keyword != "NULL":
                raise self.unexpected("NULL" if negated else "NULL or NOT NULL")
            self.advance()
            return Op.IS_NOT_NULL if negated else Op.IS_NULL
        raise self.unexpected(_ANY_OP)

    def value(self, ident: Identifier, op: Op) -> Value:
        if op in (Op.IS_NULL, Op.IS_NOT_NULL):
            return None
        if op in (Op.IN, Op.NOT_IN):
            return self.string_list(ident)
        tok = self.peek()
        numeric = self.spec.is_numeric(ident.kind, ident.key)
        if tok.kind is Tok.NUMBER and numeric:
            self.advance()
            return _number(tok.text, as_float=ident.kind is KeyKind.METRIC)
        if tok.kind is Tok.STRING and not numeric:
            self.advance()
            return self._checked_string(ident, tok)
        if tok.kind is Tok.NUMBER and self._number_as_string(ident, tok):
            self.advance()
            return tok.text
        if tok.kind is Tok.STRING and self._digits_as_number(ident, tok):
            self.advance()
            return int(str(tok.value).strip())
        if numeric:
            if tok.kind is Tok.STRING:
                raise self.error(
                    f"{ident} compares to a number, got {tok.text}", tok.col, "a number without quotes"
                )
            raise self.unexpected("a number")
        if tok.kind in (Tok.NUMBER, Tok.NAME):
            raise self.error(
                f"{ident} compares to a quoted string, got {tok.text}",
                tok.col,
                f"a quoted string such as '{tok.text}'",
            )
        raise self.unexpected("a quoted string")

    def string_list(self, ident: Identifier) -> tuple[str, ...]:
        if self.peek().kind is not Tok.LPAREN:
            raise self.unexpected("a parenthesised list of quoted strings such as ('a', 'b')")
        open_tok = self.advance()
        items: list[str] = []
        while True:
            tok = self.peek()
            if tok.kind is Tok.RPAREN and items:
                self.advance()
                return tuple(items)
            if tok.kind is Tok.RPAREN:
                raise self.error("empty list", open_tok.col, "at least one quoted string")
            if tok.kind is not Tok.STRING:
                raise self.unexpected("a quoted string")
            items.append(self._checked_string(ident, self.advance()))
            if self.peek().kind is Tok.COMMA:
                self.advance()  # a trailing comma, ('a',), is accepted like MLflow does
            elif self.peek().kind is not Tok.RPAREN:
                raise self.unexpected("',' or ')'")

    def _checked_string(self, ident: Identifier, tok: Token) -> str:
        value = str(tok.value)
        if ident == Identifier(KeyKind.ATTRIBUTE, "experiment_id") and not value.isdigit():
            raise self.error(f"experiment_id must be a string of digits, got {tok.text}", tok.col)
        return value

    def _number_as_string(self, ident: Identifier, tok: Token) -> bool:
        if ident.kind is KeyKind.PARAM and self.spec.params_accept_numbers:
            return True
        # Experiment ids are strings of digits; a bare 7 is unambiguous.
        return ident.key == "experiment_id" and tok.text.isdigit()

    def _digits_as_number(self, ident: Identifier, tok: Token) -> bool:
        attr = self.spec.attributes.get(ident.key) if ident.kind is KeyKind.ATTRIBUTE else None
        return bool(attr and attr.digits_as_number and str(tok.value).strip().isdigit())

    def order_by(self) -> OrderBy:
        ident, _ = self.identifier(for_order=True)
        ascending = True
        word = self.peek().keyword
        if word in ("ASC", "DESC"):
            self.advance()
            ascending = word == "ASC"
        elif not self.at_end():
            raise self.unexpected("ASC, DESC or the end of the clause")
        if not self.at_end():
            raise self.unexpected("the end of the clause")
        return OrderBy(ident, ascending)


def _number(text: str, *, as_float: bool) -> int | float:
    is_integer = not any(c in text for c in ".eE")
    return int(text) if is_integer and not as_float else float(text)
