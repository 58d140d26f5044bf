"""The UI's small pure helpers: safe redirects after sign-in and the table formats."""

from __future__ import annotations

import pytest

from runyard.ui.tracking import Column, parse_column
from runyard.ui.web import format_duration, format_number, format_time, safe_next


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/w/team/models", "/w/team/models"),
        ("/device?user_code=ABCD-EFGH", "/device?user_code=ABCD-EFGH"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_sign_in_only_returns_to_paths_of_this_site(target, expected):
    assert safe_next(target) == expected


def test_formats():
    assert format_time(None) == "—"
    assert format_time(1_700_000_000_000) == "2023-11-14 22:13:20"
    assert format_duration(1000, 3500) == "2.5s"
    assert format_duration(0, 3500) == "—"
    assert format_duration(1000, 1000 + 3_725_000) == "1h 2m"
    assert format_number(0.123456789) == "0.123457"
    assert format_number(float("nan")) == "NaN"
    assert format_number(1.5e-7) == "1.5e-07"
    assert format_number(None) == ""


def test_columns_name_their_kind_and_quote_their_key_for_ordering():
    assert parse_column("metrics.val loss") == Column("metrics", "val loss")
    assert parse_column("metrics.val loss").order_key == "metrics.`val loss`"
    assert parse_column("attributes.status") is None
    assert parse_column("params.") is None
