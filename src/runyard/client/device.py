"""Device-code sign-in (RFC 8628 in Runyard's error shape), as ``runyard login`` runs it.

``start`` asks the server for a code; the person opens ``verification_uri`` and approves the
``user_code``; meanwhile ``wait`` polls the token endpoint until the server says yes, no, or
the code expired.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from runyard.client.api import ApiError, RunyardAPI

# Answers that mean "keep polling" (and "more slowly" for the last two).
_PENDING = "AUTHORIZATION_PENDING"
_SLOW_DOWN = frozenset({"SLOW_DOWN", "REQUEST_LIMIT_EXCEEDED"})
_EXPIRED = "The sign-in code expired before it was approved; run `runyard login` again."


class DeviceFlowError(Exception):
    """The sign-in ended without a token: denied, expired, or the server refused."""


@dataclass(frozen=True)
class DeviceCode:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float


@dataclass(frozen=True)
class AccessToken:
    access_token: str
    expires_in: float | None


def start(api: RunyardAPI) -> DeviceCode:
    body = api.device_code()
    try:
        return DeviceCode(
            device_code=str(body["device_code"]),
            user_code=str(body["user_code"]),
            verification_uri=str(body["verification_uri"]),
            verification_uri_complete=body.get("verification_uri_complete"),
            expires_in=float(body.get("expires_in") or 600),
            interval=float(body.get("interval") or 5),
        )
    except KeyError as exc:
        raise DeviceFlowError(
            f"The server's device-code answer lacks {exc}; is it a Runyard server?"
        ) from None


def wait(
    api: RunyardAPI,
    code: DeviceCode,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> AccessToken:
    """Poll until approved; raises DeviceFlowError when denied or expired."""
    deadline = clock() + code.expires_in
    interval = max(code.interval, 0.1)
    while True:
        try:
            body = api.device_token(code.device_code)
        except ApiError as err:
            if err.error_code == _PENDING:
                pass
            elif err.error_code in _SLOW_DOWN or err.status == 429:
                interval += 5
            elif err.error_code == "EXPIRED_TOKEN":
                raise DeviceFlowError(_EXPIRED) from None
            elif err.error_code == "ACCESS_DENIED":
                raise DeviceFlowError("The sign-in was denied on the server.") from None
            else:
                raise
        else:
            token = body.get("access_token")
            if not token:
                raise DeviceFlowError(f"The token endpoint answered without an access token: {sorted(body)}")
            expires_in = body.get("expires_in")
            return AccessToken(str(token), float(expires_in) if expires_in is not None else None)
        if clock() + interval > deadline:
            raise DeviceFlowError(_EXPIRED)
        sleep(interval)


__all__ = ["AccessToken", "DeviceCode", "DeviceFlowError", "start", "wait"]
