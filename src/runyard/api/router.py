"""The API dispatcher: turns the route table into one ASGI app.

Every route is served under ``/api`` and ``/ajax-api``, and both again under
``/w/<workspace>/``. Static paths are found with one dict lookup (the hot paths of
logging are all static); paths with parameters fall back to a short regex list.
Request messages are decoded by msgspec from the JSON body (or the query string for GET),
handlers run in a worker thread (the store is synchronous), and any RunyardError becomes
MLflow's ``{"error_code", "message"}`` body.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from runyard.api.call import Call, Route
from runyard.api.handler_threads import HandlerThreads
from runyard.errors import (
    EndpointNotFound,
    InvalidParameter,
    MalformedRequest,
    RunyardError,
)
from runyard.search.errors import SearchSyntaxError

log = logging.getLogger("runyard.api")

_JSON = "application/json"
_encoder = msgspec.json.Encoder()
_PREFIXES = ("/api", "/ajax-api")
# PostgreSQL cannot store NUL in text; refuse it for every backend so both behave alike.
_NUL_MESSAGE = "Invalid request: strings may not contain the NUL character (\\u0000)."
_PARAM = re.compile(r"\{(\w+)(?::path)?\}")
# As many as anyio's default limit: enough for SQLite readers and PostgreSQL's pool.
_HANDLER_THREADS = 40


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def json_response(value: Any, status: int = 200) -> Response:
    return Response(encode(value), status_code=status, media_type=_JSON)


def error_response(err: RunyardError) -> Response:
    return Response(encode(err.to_dict()), status_code=err.http_status, media_type=_JSON)


def _compile(path: str) -> re.Pattern[str]:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        return f"(?P<{name}>.+)" if m.group(0).endswith(":path}") else f"(?P<{name}>[^/]+)"

    return re.compile("^" + _PARAM.sub(repl, path) + "$")


def _list_fields(struct: type[msgspec.Struct]) -> frozenset[str]:
    """Names of repeated fields, so a single ``?k=v`` still becomes ``[v]`` for GET."""
    info = msgspec.inspect.type_info(struct)
    names = set()
    for f in info.fields:  # type: ignore[attr-defined]
        t = f.type
        if isinstance(t, msgspec.inspect.UnionType):
            t = next((x for x in t.types if not isinstance(x, msgspec.inspect.NoneType)), t)
        if isinstance(t, (msgspec.inspect.ListType, msgspec.inspect.SetType)):
            names.add(f.encode_name)
    return frozenset(names)


def _validation_message(exc: msgspec.ValidationError) -> str:
    text = str(exc)
    m = re.match(r"Object missing required field `(\w+)`", text)
    if m:
        return (
            f"Missing value for required parameter '{m.group(1)}'. "
            "See the API docs for more information about request parameters."
        )
    return f"Invalid request: {text}"


class _Endpoint:
    """One route, ready to serve: decoder, list fields, handler."""

    __slots__ = ("decoder", "list_fields", "pattern", "route")

    def __init__(self, route: Route) -> None:
        self.route = route
        self.pattern = _compile(route.path) if "{" in route.path else None
        if route.request is not None:
            self.decoder = msgspec.json.Decoder(route.request, strict=False)
            self.list_fields = _list_fields(route.request)
        else:
            self.decoder = None
            self.list_fields = frozenset()

    async def decode(self, request: Request) -> Any:
        req_type = self.route.request
        if req_type is None:
            return None
        if request.method in ("GET", "DELETE") and not self.route.body_on_get:
            params: dict[str, Any] = {}
            for key, value in request.query_params.multi_items():
                if "\x00" in value:
                    raise InvalidParameter(_NUL_MESSAGE)
                if key in self.list_fields:
                    params.setdefault(key, []).append(value)
                else:
                    params[key] = value
            # DELETE in MLflow may carry a JSON body too (e.g. delete-tag); merge it.
            if request.method == "DELETE":
                body = await request.body()
                if body.strip():
                    params.update(self._parse_json_object(body))
            try:
                return msgspec.convert(params, req_type, strict=False)
            except msgspec.ValidationError as exc:
                raise InvalidParameter(_validation_message(exc)) from None
        body = await request.body()
        if not body.strip():
            body = b"{}"
        if b"\\u0000" in body:
            raise InvalidParameter(_NUL_MESSAGE)
        try:
            return self.decoder.decode(body)  # type: ignore[union-attr]
        except msgspec.ValidationError as exc:
            if not body.lstrip().startswith(b'"'):
                raise InvalidParameter(_validation_message(exc)) from None
            return self._decode_loose(body, req_type)
        except msgspec.DecodeError:
            return self._decode_loose(body, req_type)

    def _decode_loose(self, body: bytes, req_type: type) -> Any:
        # Old clients double-encode the body as a JSON string; accept that too.
        obj = self._parse_json_object(body)
        try:
            return msgspec.convert(obj, req_type, strict=False)
        except msgspec.ValidationError as exc:
            raise InvalidParameter(_validation_message(exc)) from None

    @staticmethod
    def _parse_json_object(body: bytes) -> dict[str, Any]:
        try:
            obj = msgspec.json.decode(body)
            if isinstance(obj, str):
                obj = msgspec.json.decode(obj)
        except msgspec.DecodeError as exc:
            raise MalformedRequest(f"Malformed request body: it is not valid JSON ({exc}).") from None
        if not isinstance(obj, dict):
            raise MalformedRequest("Malformed request body: expected a JSON object.")
        return obj


# Builds the Call for a request: resolves the workspace and (with auth on) checks the
# caller against the route's declared access. Raises RunyardError to refuse.
Resolver = Callable[[Request, str | None, Route], Awaitable[Call]]


class ApiRouter:
    """ASGI app serving the route table; anything else goes to ``fallback``."""

    def __init__(self, routes: list[Route], resolve_call: Resolver, fallback: ASGIApp) -> None:
        self._static: dict[tuple[str, str], _Endpoint] = {}
        self._dynamic: list[_Endpoint] = []
        self._paths: dict[str, set[str]] = {}
        for route in routes:
            ep = _Endpoint(route)
            if ep.pattern is None:
                self._static[(route.method, route.path)] = ep
            else:
                self._dynamic.append(ep)
            self._paths.setdefault(route.path, set()).add(route.method)
        self._resolve_call = resolve_call
        self._fallback = fallback
        # Handlers run here rather than through anyio's to_thread: the hand-off is a good
        # part of a small request's cost (see handler_threads.py).
        self._threads = HandlerThreads(_HANDLER_THREADS, "runyard-api")

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await self._threads.run(fn, *args)

    def close(self) -> None:
        self._threads.close()

    def _split(self, path: str) -> tuple[str | None, str] | None:
        """``/w/team/api/2.0/x`` → ("team", "/2.0/x"); ``/api/2.0/x`` → (None, "/2.0/x")."""
        workspace = None
        if path.startswith("/w/"):
            rest = path[3:]
            slash = rest.find("/")
            if slash <= 0:
                return None
            workspace, path = unquote(rest[:slash]), rest[slash:]
        for prefix in _PREFIXES:
            if path.startswith(prefix + "/"):
                return workspace, path[len(prefix) :]
        return None

    def _match(self, method: str, path: str) -> tuple[_Endpoint | None, dict[str, str], bool]:
        ep = self._static.get((method, path))
        if ep is not None:
            return ep, {}, True
        known = path in self._paths
        for cand in self._dynamic:
            m = cand.pattern.match(path)  # type: ignore[union-attr]
            if m:
                known = True
                if cand.route.method == method:
                    return cand, {k: unquote(v) for k, v in m.groupdict().items()}, True
        return None, {}, known

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._fallback(scope, receive, send)
            return
        split = self._split(scope["path"])
        if split is None:
            await self._fallback(scope, receive, send)
            return
        workspace, path = split
        method = scope["method"]
        if method == "HEAD":
            method = "GET"
        ep, path_params, known = self._match(method, path)
        request = Request(scope, receive)
        if ep is None:
            if known:
                err: RunyardError = EndpointNotFound(f"Method {method} is not allowed for {path}.")
                err.http_status = 405
            else:
                err = EndpointNotFound(f"No API endpoint at {scope['path']}.")
            await error_response(err)(scope, receive, send)
            return
        scope["path_params"] = path_params
        response = await self._serve(ep, request, workspace)
        await response(scope, receive, send)

    async def _serve(self, ep: _Endpoint, request: Request, workspace: str | None) -> Response:
        try:
            call = await self._resolve_call(request, workspace, ep.route)
            if ep.route.raw:
                return await ep.route.handler(call)
            message = await ep.decode(request)
            result = await self._in_thread(ep.route.handler, call, message)
            if isinstance(result, Response):
                return result
            return Response(encode(result), media_type=_JSON)
        except RunyardError as err:
            return error_response(err)
        except SearchSyntaxError as err:
            return error_response(InvalidParameter(err.message))
        except Exception:
            log.exception("unhandled error in %s %s", request.method, request.url.path)
            return error_response(RunyardError("Internal server error; see the server log."))


__all__ = ["ApiRouter", "encode", "error_response", "json_response"]
