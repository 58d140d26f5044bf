"""Lists bound as one parameter (any_of / ids_value, PostgreSQL array literals) arrive intact,
whatever their text or value."""

from __future__ import annotations

import math
import sys

import pytest
from sqlalchemy import String, column, select, table, text

from runyard.store.sql.dialect import any_of, ids_value, pg_number_array_text
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


AWKWARD_NUMBERS = [
    0.1,
    -0.0,
    1e-320,  # subnormal
    sys.float_info.max,
    -sys.float_info.min,
    1 / 3,
    math.inf,
    -math.inf,
    2**62 + 1,  # an integer a double would round
    7,
]


def test_numbers_and_booleans_read_back_exactly_on_postgres(db: Database) -> None:
    if db.sqlite:
        pytest.skip("PostgreSQL array literals; SQLite binds each value itself")
    floats = AWKWARD_NUMBERS[:-2]
    with db.read() as conn:
        got = conn.execute(
            text("SELECT CAST(:f AS DOUBLE PRECISION[]), CAST(:i AS BIGINT[]), CAST(:b AS BOOLEAN[])"),
            {
                "f": pg_number_array_text(floats),
                "i": pg_number_array_text(AWKWARD_NUMBERS[-2:]),
                "b": pg_number_array_text([True, False]),
            },
        ).one()
    assert [x.hex() for x in got[0]] == [x.hex() for x in floats]
    assert got[1] == AWKWARD_NUMBERS[-2:]
    assert got[2] == [True, False]
