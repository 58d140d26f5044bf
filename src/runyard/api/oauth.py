"""Handlers for /api/2.0/runyard/oauth/*: the token endpoint and device sign-in.

The token endpoint takes a form body (as OAuth clients send) or JSON, so it reads the
body itself; the slow parts (argon2, SQL) run in a worker thread.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from runyard.api.call import Call
from runyard.api.router import json_response
from runyard.api.wire import access as w
from runyard.api.wire.base import Empty
from runyard.entities import ANONYMOUS
from runyard.errors import InvalidParameter, MalformedRequest
from runyard.services.oauth import Grant

CLIENT_CREDENTIALS = "client_credentials"
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
_MAX_BODY = 16 * 1024
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _address(call: Call) -> str:
    client = call.request.client
    return client.host if client else "unknown"


async def _form(call: Call) -> dict[str, str]:
    body = await call.request.body()
    if len(body) > _MAX_BODY:
        raise InvalidParameter("The token request is too large.")
    content_type = call.request.headers.get("content-type", "")
    text = body.decode("utf-8", "replace").strip()
    if "json" in content_type or text.startswith("{"):
        try:
            obj = msgspec.json.decode(body or b"{}")
        except msgspec.DecodeError:
            raise MalformedRequest("Malformed request body: it is not valid JSON.") from None
        if not isinstance(obj, dict):
            raise MalformedRequest("Malformed request body: expected a JSON object.")
        return {str(k): v for k, v in obj.items() if isinstance(v, str)}
    return dict(parse_qsl(text, keep_blank_values=True))


def _grant(grant: Grant) -> Response:
    body = w.TokenResponse(access_token=grant.access_token, token_type="Bearer", expires_in=grant.expires_in)
    response = json_response(body)
    response.headers.update(_NO_STORE)
    return response


async def token(call: Call) -> Response:
    form = await _form(call)
    grant_type = form.get("grant_type")
    oauth, address = call.services.oauth, _address(call)
    if grant_type == CLIENT_CREDENTIALS:
        grant = await run_in_threadpool(
            oauth.client_credentials, form.get("client_id"), form.get("client_secret"), address
        )
    elif grant_type == DEVICE_CODE:
        grant = await run_in_threadpool(oauth.poll_device, form.get("device_code"), address)
    else:
        raise InvalidParameter(
            f"Unsupported grant_type '{grant_type}'. Allowed values: {CLIENT_CREDENTIALS}, {DEVICE_CODE}."
        )
    return _grant(grant)


def device_code(call: Call, _req: w.DeviceCodeRequest) -> w.DeviceCodeResponse:
    start = call.services.oauth.start_device(_address(call))
    page = str(call.request.base_url).rstrip("/") + "/device"
    return w.DeviceCodeResponse(
        device_code=start.device_code,
        user_code=start.user_code,
        verification_uri=page,
        verification_uri_complete=f"{page}?user_code={start.user_code}",
        expires_in=start.expires_in,
        interval=start.interval,
    )


def approve(call: Call, req: w.DeviceDecision) -> Empty:
    call.services.oauth.decide_device(call.principal or ANONYMOUS, req.user_code, approve=True)
    return Empty()


def deny(call: Call, req: w.DeviceDecision) -> Empty:
    call.services.oauth.decide_device(call.principal or ANONYMOUS, req.user_code, approve=False)
    return Empty()
