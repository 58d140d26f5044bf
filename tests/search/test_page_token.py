"""Page tokens resume exactly the query that issued them, and nothing else."""

from __future__ import annotations

import base64
import json

import pytest

from runyard.search import SearchSyntaxError, decode_page_token, encode_page_token, query_fingerprint

QUERY = query_fingerprint(["1", "2"], "metrics.rmse < 1", ["metrics.rmse DESC"], "ACTIVE_ONLY")


def test_round_trip() -> None:
    token = encode_page_token(1000, QUERY)
    assert decode_page_token(token, QUERY) == 1000


def test_tokens_are_opaque_url_safe_text() -> None:
    token = encode_page_token(50_000, QUERY)
    assert token.isascii()
    assert not set(token) & set("+/=")  # safe in query strings without escaping
    assert "50000" not in token


@pytest.mark.parametrize("token", [None, ""])
def test_no_token_means_the_first_page(token: str | None) -> None:
    assert decode_page_token(token, QUERY) == 0


def test_a_token_from_another_query_is_rejected() -> None:
    token = encode_page_token(100, QUERY)
    other = query_fingerprint(["1", "2"], "metrics.rmse < 2", ["metrics.rmse DESC"], "ACTIVE_ONLY")
    with pytest.raises(SearchSyntaxError, match="Invalid page token: it belongs to a different query"):
        decode_page_token(token, other)


def test_a_hand_edited_offset_is_rejected() -> None:
    body = json.loads(base64.urlsafe_b64decode(encode_page_token(100, QUERY) + "=="))
    body["o"] = 5
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).decode()
    with pytest.raises(SearchSyntaxError, match="Invalid page token: it has been altered"):
        decode_page_token(forged, QUERY)


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "eyJvZmZzZXQiOiAxMH0",  # MLflow's own {"offset": 10}
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b'{"v": 1, "o": -1, "q": "x", "c": "y"}').decode(),
        "A" * 5000,
        encode_page_token(10, QUERY)[:-3],  # truncated in transit
    ],
)
def test_garbage_is_rejected_with_invalid_page_token(token: str) -> None:
    with pytest.raises(SearchSyntaxError) as info:
        decode_page_token(token, QUERY)
    assert info.value.message.startswith("Invalid page token: ")
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("offset", [-1, 1.5, True])
def test_encoding_a_bad_offset_is_a_programming_error(offset: object) -> None:
    with pytest.raises(ValueError, match="offset must be a non-negative int"):
        encode_page_token(offset, QUERY)  # type: ignore[arg-type]


def test_fingerprints_are_stable_and_sensitive() -> None:
    assert query_fingerprint({"b": 1, "a": 2}) == query_fingerprint({"a": 2, "b": 1})
    assert query_fingerprint(["1", "2"]) != query_fingerprint(["2", "1"])
    assert query_fingerprint("a", None) != query_fingerprint("a", "")
