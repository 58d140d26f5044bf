"""The rules of online endpoints that need no database: names, traffic shares, keys, settings."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping

from runyard.entities import Workspace
from runyard.errors import InvalidParameter, NotFound

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}$")
ENV_MANAGERS = ("local", "virtualenv")
KEY_PREFIX = "ryk_"
KEY_TYPES = ("primary", "secondary")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_MAX_ENV = 64


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> tuple[str, str, str]:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, hash_key(key), key[-4:]


def check_name(value: str | None, what: str) -> str:
    if not value or not NAME.match(value):
        raise InvalidParameter(
            f"Invalid {what} name '{value}': use 1 to 63 letters, digits and hyphens, starting with a letter."
        )
    return value


def endpoint_not_found(name: str, ws: Workspace) -> NotFound:
    return NotFound(f"Endpoint '{name}' does not exist in workspace '{ws.name}'.")


def deployment_not_found(endpoint: str, name: str) -> NotFound:
    return NotFound(f"Deployment '{name}' does not exist in endpoint '{endpoint}'.")


def _shares(value: Mapping[str, object] | None, what: str, names: set[str], endpoint: str) -> dict[str, int]:
    """A map of deployment → whole percent 0..100, naming only existing deployments."""
    out: dict[str, int] = {}
    for name, share in (value or {}).items():
        if isinstance(share, bool) or not isinstance(share, int) or not 0 <= share <= 100:
            raise InvalidParameter(
                f"Invalid {what} share for deployment '{name}': {share!r}. "
                "Shares are whole percents from 0 to 100."
            )
        if name not in names:
            known = ", ".join(sorted(names)) or "none yet"
            raise InvalidParameter(
                f"Invalid {what}: endpoint '{endpoint}' has no deployment '{name}' (deployments: {known})."
            )
        if share:
            out[name] = share
    return out


def check_traffic(
    traffic: Mapping[str, object] | None, mirror: Mapping[str, object] | None, names: set[str], endpoint: str
) -> tuple[dict[str, int], dict[str, int]]:
    live = _shares(traffic, "traffic", names, endpoint)
    total = sum(live.values())
    if live and total != 100:
        raise InvalidParameter(
            f"Invalid traffic for endpoint '{endpoint}': the shares add up to {total}; they must add up "
            "to 100 (or all be 0 to stop traffic)."
        )
    copies = _shares(mirror, "mirror", names, endpoint)
    both = sorted(set(copies) & set(live))
    if both:
        raise InvalidParameter(
            f"Invalid mirror for endpoint '{endpoint}': deployment '{both[0]}' already takes live traffic; "
            "mirror a share of live traffic to a deployment that takes none."
        )
    return live, copies


def check_environment(value: Mapping[str, object] | None) -> dict[str, str]:
    env = dict(value or {})
    if len(env) > _MAX_ENV:
        raise InvalidParameter(f"Too many environment variables: {len(env)}; the limit is {_MAX_ENV}.")
    for key, val in env.items():
        if not _ENV_NAME.match(key) or not isinstance(val, str):
            raise InvalidParameter(
                f"Invalid environment variable {key!r}: names are letters, digits and _ (not first a digit) "
                "and values are strings."
            )
    return env  # type: ignore[return-value]


def check_env_manager(value: str | None) -> str:
    value = value or "local"
    if value not in ENV_MANAGERS:
        raise InvalidParameter(f"Invalid env_manager '{value}': use one of {', '.join(ENV_MANAGERS)}.")
    return value


__all__ = [
    "ENV_MANAGERS",
    "KEY_PREFIX",
    "KEY_TYPES",
    "NAME",
    "check_env_manager",
    "check_environment",
    "check_name",
    "check_traffic",
    "deployment_not_found",
    "endpoint_not_found",
    "hash_key",
    "new_key",
]
