"""Auth on or off: auto follows the address; off on a reachable address needs --insecure."""

from __future__ import annotations

import pytest

from runyard.auth import InsecureConfiguration, auth_enabled, is_loopback
from runyard.config import Settings
from runyard.errors import InvalidParameter


def _settings(**kw) -> Settings:
    return Settings.load(kw, env={})


def test_loopback_addresses():
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.5", "myhost.example"))


def test_auto_is_off_on_loopback_and_on_elsewhere():
    assert auth_enabled(_settings()) is False
    assert auth_enabled(_settings(host="0.0.0.0")) is True


def test_explicit_modes():
    assert auth_enabled(_settings(auth="on")) is True
    assert auth_enabled(_settings(auth="off")) is False


def test_auth_off_on_a_reachable_host_is_refused_unless_insecure():
    with pytest.raises(InsecureConfiguration) as err:
        auth_enabled(_settings(host="0.0.0.0", auth="off"))
    assert "--insecure" in err.value.message
    assert auth_enabled(_settings(host="0.0.0.0", auth="off", insecure=True)) is False


def test_unknown_mode():
    with pytest.raises(InvalidParameter):
        auth_enabled(_settings(auth="maybe"))
