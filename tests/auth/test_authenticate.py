"""Credential checks: header parsing, then wrong / revoked / expired tokens, each with its own message."""

from __future__ import annotations

import base64

import pytest

from runyard.auth import tokens as tok
from runyard.auth.authenticate import check, parse, presented
from runyard.entities import Principal
from runyard.errors import Unauthenticated
from runyard.store.sql.access import CredentialRow

ANA = Principal(7, "ana", "user", False)
NOW = 1_800_000_000_000


def _row(minted: tok.Minted, kind: str = "pat", expires_at: int = NOW + 1, revoked: int | None = None):
    return CredentialRow(minted.secret_hash, kind, "laptop", expires_at, revoked, ANA, "reader")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_bearer_and_basic_headers():
    assert presented("Bearer abc").token == "abc"
    assert presented("bearer  abc ").token == "abc"
    basic = presented(_basic("ana", "ryd_pat_x"))
    assert (basic.token, basic.basic_user) == ("ryd_pat_x", "ana")


@pytest.mark.parametrize("header", [None, "", "Bearer", "Token abc", "Basic !!!", _basic("ana", "")])
def test_missing_or_unusable_headers_are_401(header):
    with pytest.raises(Unauthenticated):
        presented(header)


def test_a_valid_token_names_its_principal():
    minted = tok.mint("pat")
    assert check(_row(minted), parse(presented(f"Bearer {minted.token}")), None, NOW) == ANA
    assert check(_row(minted), parse(presented(_basic("ana", minted.token))), "ana", NOW) == ANA


def test_wrong_secret_and_unknown_id_say_the_same():
    minted = tok.mint("pat")
    other = tok.mint("pat")
    forged = tok.parse(f"ryd_pat_{minted.id}_{other.token.split('_', 3)[3]}")
    with pytest.raises(Unauthenticated) as wrong:
        check(_row(minted), forged, None, NOW)
    with pytest.raises(Unauthenticated) as unknown:
        check(None, tok.parse(minted.token), None, NOW)
    assert wrong.value.message == unknown.value.message


def test_token_of_someone_else_via_basic_is_refused():
    minted = tok.mint("pat")
    with pytest.raises(Unauthenticated) as err:
        check(_row(minted), tok.parse(minted.token), "bob", NOW)
    assert "does not own" in err.value.message


def test_revoked_and_expired_tokens_say_so_and_what_to_do():
    minted = tok.mint("pat")
    parsed = tok.parse(minted.token)
    with pytest.raises(Unauthenticated) as revoked:
        check(_row(minted, revoked=NOW - 5), parsed, None, NOW)
    assert "revoked" in revoked.value.message and "runyard token create" in revoked.value.message
    with pytest.raises(Unauthenticated) as expired:
        check(_row(minted, expires_at=NOW), parsed, None, NOW)
    assert "expired" in expired.value.message and "runyard token create" in expired.value.message
    with pytest.raises(Unauthenticated) as service:
        check(_row(minted, kind="service", expires_at=NOW - 1), parsed, None, NOW)
    assert "oauth/token" in service.value.message


def test_non_runyard_tokens_are_refused():
    with pytest.raises(Unauthenticated):
        parse(presented("Bearer dapi1234"))
