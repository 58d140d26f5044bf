"""The OpenAPI 3.1 document, generated from the route table and the wire Structs.

Nothing here is written by hand per endpoint: adding a Route adds it to the document.
"""

from __future__ import annotations

import functools
import typing
from typing import Any

import msgspec

from runyard import __version__
from runyard.api.call import Access, Call, Route

_REF = "#/components/schemas/{name}"
_ERROR = {
    "type": "object",
    "required": ["error_code", "message"],
    "properties": {
        "error_code": {"type": "string"},
        "message": {"type": "string"},
        "sqlstate": {"type": "string"},
        "error_class": {"type": "string"},
    },
}


def _query_parameters(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        params.append(
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": prop,
                **({"style": "form", "explode": True} if prop.get("type") == "array" else {}),
            }
        )
    return params


def _path_parameters(path: str) -> list[dict[str, Any]]:
    import re

    return [
        {"name": m, "in": "path", "required": True, "schema": {"type": "string"}}
        for m in re.findall(r"\{(\w+)(?::path)?\}", path)
    ]


def response_type(route: Route) -> type[msgspec.Struct] | None:
    """The handler's declared return Struct, if it declares one."""
    try:
        hint = typing.get_type_hints(route.handler).get("return")
    except Exception:
        return None
    return hint if isinstance(hint, type) and issubclass(hint, msgspec.Struct) else None


def _operation(
    route: Route, schema: dict[str, Any] | None, components: dict[str, Any], out: dict[str, Any] | None
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"{route.method.lower()}_{route.path.strip('/').replace('/', '_').replace('-', '_')}",
        "summary": route.summary or (route.handler.__doc__ or "").strip().split("\n")[0] or route.path,
        "x-runyard-access": route.access.value,
        "responses": {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": out or {"type": "object"}}},
            },
            "default": {
                "description": "MLflow-style error",
                "content": {"application/json": {"schema": {"$ref": _REF.format(name="Error")}}},
            },
        },
    }
    params = _path_parameters(route.path)
    if route.raw:
        if route.method == "PUT":
            op["requestBody"] = {"content": {"application/octet-stream": {"schema": {}}}}
    elif schema is not None:
        if route.method in ("GET", "DELETE") and not route.body_on_get:
            params += _query_parameters(schema, components)
        else:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    if params:
        # The path template may spell a parameter that the message also carries; keep one.
        seen: set[tuple[str, str]] = set()
        op["parameters"] = [
            p for p in params if not ((p["name"], p["in"]) in seen or seen.add((p["name"], p["in"])))
        ]
    if route.access is not Access.PUBLIC:
        op["security"] = [{"bearer": []}, {}]
    return op


@functools.lru_cache(maxsize=1)
def build_document() -> bytes:
    from runyard.api.routes import routes

    table = routes()
    outs = {r: response_type(r) for r in table}
    structs = [r.request for r in table if r.request is not None]
    responses = sorted({t for t in outs.values() if t is not None}, key=lambda t: t.__qualname__)
    schemas, components = msgspec.json.schema_components(structs + responses, ref_template=_REF)
    out_schema = dict(zip(responses, schemas[len(structs) :], strict=True))
    schemas = schemas[: len(structs)]
    components["Error"] = _ERROR
    paths: dict[str, dict[str, Any]] = {}
    by_struct = dict(zip(structs, schemas, strict=True))
    for route in table:
        path = "/api" + route.path.replace(":path}", "}")
        schema = by_struct.get(route.request) if route.request is not None else None
        out = out_schema.get(outs[route]) if outs[route] is not None else None
        paths.setdefault(path, {})[route.method.lower()] = _operation(route, schema, components, out)
    doc = {
        "openapi": "3.1.0",
        "info": {
            "title": "Runyard API",
            "version": __version__,
            "description": "The MLflow REST API (tracking, registry, artifacts) and Runyard's own. "
            "Every path is also served under /ajax-api and under /w/<workspace>/.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
    return msgspec.json.encode(doc)


def document(_call: Call, _req: None) -> msgspec.Raw:
    return msgspec.Raw(build_document())


__all__ = ["build_document", "document"]
