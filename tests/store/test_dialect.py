"""Lists bound as one parameter (any_of / ids_value) arrive intact, whatever their text."""

from __future__ import annotations

import pytest
from sqlalchemy import String, column, select, table, text

from runyard.store.sql.dialect import any_of, ids_value
from runyard.store.sql.engine import Database
from runyard.store.sql.prepared import Prepared

AWKWARD = [
    "plain",
    'a "quoted" word',
    "back\\slash",
    "NULL",
    "null",
    "",
    "comma,brace}{",
    " padded ",
    "é ü 日本",
]


@pytest.fixture(scope="module")
def words(db: Database) -> str:
    rows = [{"w": w} for w in [*AWKWARD, "not asked for"]]

    def fill(conn) -> None:  # noqa: ANN001
        conn.execute(text("CREATE TABLE dialect_words (w VARCHAR(64))"))
        conn.execute(text("INSERT INTO dialect_words (w) VALUES (:w)"), rows)

    db.write(fill)
    return "dialect_words"


_WORDS = table("dialect_words", column("w", String(64)))
_SELECT = Prepared(lambda d: select(_WORDS.c.w).where(any_of(d, _WORDS.c.w)))


def test_every_awkward_string_matches_itself_and_nothing_else(db: Database, words: str) -> None:
    with db.read() as conn:
        found = [r[0] for r in _SELECT.rows(conn, ids=ids_value(conn, AWKWARD))]
    assert sorted(found) == sorted(AWKWARD)


def test_an_empty_list_matches_nothing(db: Database, words: str) -> None:
    with db.read() as conn:
        assert _SELECT.rows(conn, ids=ids_value(conn, [])) == []
