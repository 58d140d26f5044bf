"""Token strings: what is minted, what parses, and that only a hash is ever kept."""

from __future__ import annotations

import hashlib

from runyard.auth import tokens as tok


def test_personal_access_token_shape_and_hash():
    minted = tok.mint("pat")
    assert minted.token.startswith(f"ryd_pat_{minted.id}_")
    secret = minted.token.removeprefix(f"ryd_pat_{minted.id}_")
    assert len(secret) >= 43  # 256 bits, url-safe base64
    assert minted.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in minted.secret_hash


def test_parse_round_trips_both_families():
    for family, prefix in (("pat", "ryd_pat_"), ("access", "ryd_at_")):
        minted = tok.mint(family)
        parsed = tok.parse(minted.token)
        assert parsed is not None
        assert (parsed.family, parsed.id) == (family, minted.id)
        assert minted.token.startswith(prefix)
        assert tok.secret_matches(parsed.secret, minted.secret_hash)


def test_secret_with_underscores_still_parses():
    parsed = tok.parse("ryd_pat_0123456789abcdef_se_cr_et")
    assert parsed is not None and parsed.secret == "se_cr_et"


def test_foreign_or_damaged_tokens_do_not_parse():
    for bad in (
        "",
        "dapi0123",
        "ryd_pat_",
        "ryd_pat_0123456789abcdef",  # no secret
        "ryd_pat_0123456789abcdef_",  # empty secret
        "ryd_pat_XYZ3456789abcdef_secret",  # id not hex
        "ryd_pat_0123_secret",  # id too short
        "ryd_xx_0123456789abcdef_secret",
    ):
        assert tok.parse(bad) is None, bad


def test_wrong_secret_does_not_match():
    minted = tok.mint("pat")
    assert not tok.secret_matches("guess", minted.secret_hash)


def test_tokens_are_unique():
    assert len({tok.mint("pat").token for _ in range(200)}) == 200


def test_user_codes_are_short_unambiguous_and_forgiving():
    code = tok.new_user_code()
    assert len(code) == 8 and set(code) <= set("BCDFGHJKLMNPQRSTVWXZ")
    shown = tok.format_user_code(code)
    assert shown == f"{code[:4]}-{code[4:]}"
    assert tok.normalize_user_code(shown.lower()) == code
    assert tok.normalize_user_code(f" {code[:4]} {code[4:]} ") == code


def test_client_credentials_shape():
    client_id, secret = tok.new_client_credentials()
    assert client_id.startswith("ryd_sp_") and secret.startswith("ryd_sps_")
    assert client_id != secret
