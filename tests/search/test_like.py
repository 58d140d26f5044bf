"""What a LIKE pattern matches: % is any run, _ one character, backslash makes the next literal."""

from __future__ import annotations

import pytest

from runyard.search.like import close_escape, like_matches, like_to_glob


@pytest.mark.parametrize(
    ("value", "pattern", "matches"),
    [
        ("train_v2", "train%", True),
        ("Train_v2", "train%", False),  # case matters
        ("train_v2", "%_v_", True),
        ("train_v2", "train_v", False),  # the whole value must match
        ("50%", r"50\%", True),
        ("500", r"50\%", False),
        ("a_b", r"a\_b", True),
        ("axb", r"a\_b", False),
        ("a*b", "a*b", True),  # GLOB's specials are plain characters in LIKE
        ("axxb", "a*b", False),
        ("a[1]", "a[1]", True),
        ("a1", "a[1]", False),
        ("line\nbreak", "line%", True),
        ("C:\\", "C:\\", True),  # a trailing lone backslash is a literal backslash
    ],
)
def test_like_semantics(value: str, pattern: str, matches: bool) -> None:
    assert like_matches(value, pattern) is matches


def test_ilike_ignores_case() -> None:
    assert like_matches("Train_V2", "train%v2", case_sensitive=False)


@pytest.mark.parametrize(
    ("pattern", "glob"),
    [
        ("abc%", "abc*"),
        ("a_c", "a?c"),
        ("a*b?c[d]", "a[*]b[?]c[[]d]"),
        (r"50\%", "50%"),
        ("a\\\\b", "a\\b"),
    ],
)
def test_like_to_glob(pattern: str, glob: str) -> None:
    assert like_to_glob(pattern) == glob


def test_close_escape() -> None:
    assert close_escape("abc\\") == "abc\\\\"
    assert close_escape("abc\\\\") == "abc\\\\"
    assert close_escape("abc") == "abc"
