"""Service principal secrets are stored with argon2id and verified in constant work."""

from __future__ import annotations

from runyard.auth.passwords import hash_password, verify_password


def test_argon2id_hash_verifies_only_the_right_secret():
    stored = hash_password("s3cret")
    assert stored.startswith("$argon2id$")
    assert "s3cret" not in stored
    assert verify_password(stored, "s3cret")
    assert not verify_password(stored, "s3cret ")
    assert not verify_password(stored, "")


def test_same_secret_hashes_differently_each_time():
    assert hash_password("x") != hash_password("x")


def test_unknown_client_or_broken_hash_never_verifies():
    assert not verify_password(None, "runyard-dummy-secret")
    assert not verify_password("not-a-hash", "anything")
