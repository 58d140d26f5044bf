"""Is authentication on? ``auto`` turns it on whenever other machines can reach the server."""

from __future__ import annotations

import ipaddress

from runyard.config import Settings
from runyard.errors import InvalidParameter, RunyardError

_MODES = ("auto", "on", "off")


class InsecureConfiguration(RunyardError):
    """Refuse to start: auth off on an address that other machines can reach."""

    error_code = "INVALID_PARAMETER_VALUE"
    http_status = 400


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: assume reachable from elsewhere


def auth_enabled(settings: Settings) -> bool:
    mode = settings.auth.strip().lower()
    if mode not in _MODES:
        raise InvalidParameter(f"Invalid --auth '{settings.auth}'. Allowed values: on, off, auto.")
    if mode == "auto":
        return not is_loopback(settings.host)
    if mode == "off" and not is_loopback(settings.host) and not settings.insecure:
        raise InsecureConfiguration(
            f"Refusing to start: the server listens on {settings.host}, which other machines can "
            "reach, but authentication is off (--auth off). Remove --auth off (authentication "
            "is on by default there), or pass --insecure to run without authentication anyway."
        )
    return mode == "on"


__all__ = ["InsecureConfiguration", "auth_enabled", "is_loopback"]
