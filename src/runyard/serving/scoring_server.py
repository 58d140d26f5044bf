"""A scoring process serving one MLflow pyfunc model over MLflow's scoring protocol.

``python -m runyard.serving.scoring_server --model-path DIR --port N``. The HTTP server answers at
once; the model loads in the background (``/ping`` says 503 "loading" meanwhile). A model that
cannot load makes the process print ``runyard-serving: model failed to load: <reason>`` as its
last line and exit with code 3, which is how the runner tells "failed" from "crashed".
pandas strings are stored as Python objects, as pandas 2 did (see ``_string_storage``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runyard.errors import error_body
from runyard.serving.supervisor import LOAD_FAILED_MARKER

LOAD_FAILED_EXIT_CODE = 3
# A deployment whose environment sets this to "pyarrow" keeps pandas 3's default string storage.
STRING_STORAGE_ENV = "RUNYARD_SCORING_STRING_STORAGE"
# Error messages can quote the whole input (MLflow's do); a client needs the gist, not megabytes.
MAX_MESSAGE_CHARS = 4000
JSON_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def _error(status: int, code: str, message: str) -> JSONResponse:
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + " …(truncated)"
    return JSONResponse(error_body(code, message), status_code=status)


def translate_input_data(payload: dict[str, Any]) -> dict[str, Any]:
    """Azure ML's ``{"input_data": ...}`` → the MLflow format that means the same thing.

    A list of records is ``dataframe_records``; ``{"columns", "index", "data"}`` is
    ``dataframe_split``; anything else (a list of rows, named tensors) is ``inputs``.
    """
    extra = set(payload) - {"input_data", "params"}
    if extra:
        raise ValueError(f"a payload with 'input_data' may only also carry 'params'; found {sorted(extra)}")
    data = payload["input_data"]
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        out: dict[str, Any] = {"dataframe_records": data}
    elif isinstance(data, dict) and "data" in data:
        unknown = set(data) - {"columns", "index", "data"}
        if unknown:
            raise ValueError(
                f"'input_data' as a table takes 'columns', 'index' and 'data'; found {sorted(unknown)}"
            )
        out = {"dataframe_split": data}
    elif isinstance(data, (list, dict)):
        out = {"inputs": data}
    else:
        raise ValueError(
            "'input_data' must be a list of records, a {'columns', 'index', 'data'} table, a list "
            f"of rows or a dict of named inputs; got {type(data).__name__}"
        )
    if "params" in payload:
        out["params"] = payload["params"]
    return out


def parse_json_payload(body: bytes) -> dict[str, Any]:
    """Decode and check the shape of a JSON scoring payload; ValueError says what is wrong."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise ValueError(f"the body is not valid JSON: {exc}") from None
    allowed = f"exactly one of {', '.join(JSON_FORMATS)} or input_data (plus optional params)"
    if not isinstance(payload, dict):
        raise ValueError(f"the payload must be a JSON object with {allowed}; got a {type(payload).__name__}")
    if "input_data" in payload:
        return translate_input_data(payload)
    present = [k for k in JSON_FORMATS if k in payload]
    if len(present) > 1:
        raise ValueError(f"the payload must have {allowed}; found {present}")
    if not present and not _is_llm_payload(payload):
        raise ValueError(f"the payload must have {allowed}; found keys {sorted(payload)}")
    if "params" in payload and not isinstance(payload["params"], dict):
        raise ValueError(f"'params' must be a JSON object; got {type(payload['params']).__name__}")
    return payload


def _is_llm_payload(payload: dict[str, Any]) -> bool:
    """Chat/completions models take MLflow's unwrapped LLM input; leave that to MLflow."""
    from mlflow.pyfunc.utils.serving_data_parser import is_unified_llm_input

    return bool(is_unified_llm_input(payload))


class ModelHolder:
    """Loads the model once, in the background, and remembers how that went."""

    def __init__(self, model_path: Path) -> None:
        self.model_path = model_path
        self.state = "loading"
        self.message: str | None = f"loading the model from {model_path}"
        self.model: Any = None
        self.input_schema: Any = None
        self.loaded_in_s: float | None = None

    def load(self) -> None:
        started = time.monotonic()
        try:
            _string_storage()
            from mlflow.pyfunc import load_model

            model = load_model(str(self.model_path))
            self.input_schema = model.metadata.get_input_schema()
            self.model = model
        except BaseException as exc:  # noqa: BLE001 - any failure means "cannot serve", with why
            traceback.print_exc()
            lines = [ln for ln in f"{type(exc).__name__}: {exc}".splitlines() if ln.strip()]
            self.message = lines[-1] if lines else type(exc).__name__
            self.state = "failed"
            return
        self.loaded_in_s = time.monotonic() - started
        self.state, self.message = "ready", None


def _string_storage() -> None:
    """Python-object storage for pandas strings, unless the deployment's environment says otherwise.

    pandas 3 stores strings (column names included) in Arrow when pyarrow is installed. A scoring
    request builds a small frame and MLflow and scikit-learn read its column names several times;
    each Arrow round trip made that a third of a one-row request's CPU. The dtype is "str" either
    way; only the storage differs, and pandas 2 stored strings as Python objects too.
    """
    storage = os.environ.get(STRING_STORAGE_ENV, "python")
    try:
        import pandas as pd

        pd.set_option("mode.string_storage", storage)
    except (ImportError, KeyError, ValueError) as exc:  # no pandas, or one without the option
        print(f"runyard-serving: pandas string storage left as is: {exc!r}", file=sys.stderr, flush=True)


def create_app(holder: ModelHolder) -> Starlette:
    """The ASGI app around a (possibly still loading) model."""
    from runyard import __version__

    async def ping(request: Request) -> Response:
        if holder.state == "ready":
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": holder.state, "message": holder.message}, status_code=503)

    async def version(request: Request) -> Response:
        import mlflow

        return JSONResponse(
            {"runyard": __version__, "mlflow": mlflow.__version__, "model_path": str(holder.model_path)}
        )

    async def invocations(request: Request) -> Response:
        if holder.state != "ready":
            return _error(503, "TEMPORARILY_UNAVAILABLE", f"the model is not ready: {holder.message}")
        content_type = request.headers.get("content-type")
        if not content_type:
            return _error(415, "BAD_REQUEST", "missing Content-Type: send application/json or text/csv")
        body = await request.body()
        if not body.strip():
            return _error(400, "BAD_REQUEST", "empty request body: send a JSON scoring payload or CSV")
        mime, _, rest = content_type.partition(";")
        charset = rest.partition("charset=")[2].split(";")[0].strip().strip('"').lower() or "utf-8"
        if charset not in {"utf-8", "utf8"}:
            return _error(415, "BAD_REQUEST", f"charset {charset!r} is not supported: send UTF-8")
        data: bytes | dict[str, Any] = body
        if mime.strip().lower() == "application/json":
            try:
                data = parse_json_payload(body)
            except ValueError as exc:
                return _error(400, "BAD_REQUEST", str(exc))
        return await asyncio.to_thread(_score, holder, data, content_type)

    return Starlette(
        routes=[
            Route("/ping", ping, methods=["GET"]),
            Route("/health", ping, methods=["GET"]),
            Route("/version", version, methods=["GET"]),
            Route("/invocations", invocations, methods=["POST"]),
        ]
    )


def _score(holder: ModelHolder, data: bytes | dict[str, Any], content_type: str) -> Response:
    """MLflow's own parsing and prediction (``mlflow.pyfunc.scoring_server.invocations``)."""
    from mlflow.exceptions import MlflowException
    from mlflow.pyfunc.scoring_server import invocations

    try:
        result = invocations(data, content_type, holder.model, holder.input_schema)
    except MlflowException as exc:
        status = exc.get_http_status_code()
        code = exc.error_code if status < 500 else "INTERNAL_ERROR"
        return _error(status, code, exc.message)
    except Exception as exc:  # noqa: BLE001 - a model bug must answer, not kill the process
        traceback.print_exc()
        return _error(500, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}")
    if result.status != 200:
        # MLflow answers content-type problems in plain text; keep the one error shape.
        return _error(result.status, "BAD_REQUEST", str(result.response))
    return Response(result.response, status_code=200, media_type=result.mimetype)


def _watch_parent(parent_pid: int) -> None:
    """Exit when the runner that started us is gone: an orphan would hold a port and memory."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m runyard.serving.scoring_server",
        description="Serve one MLflow pyfunc model over MLflow's scoring protocol (/invocations).",
    )
    parser.add_argument("--model-path", required=True, type=Path, help="local folder holding MLmodel")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on")
    parser.add_argument("--fd", type=int, help="listen on this inherited socket instead of --host/--port")
    parser.add_argument("--parent-pid", type=int, help="exit when this process is no longer our parent")
    args = parser.parse_args(argv)

    import uvicorn

    os.environ.setdefault("MLFLOW_IS_IN_SERVING_ENVIRONMENT", "true")
    # A self-hosted scoring process sends nothing anywhere unless its environment says so.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    holder = ModelHolder(args.model_path)

    def load_or_exit() -> None:
        holder.load()
        if holder.state == "failed":
            print(LOAD_FAILED_MARKER + str(holder.message), file=sys.stderr, flush=True)
            os._exit(LOAD_FAILED_EXIT_CODE)
        print(f"runyard-serving: model loaded in {holder.loaded_in_s:.2f} s", file=sys.stderr, flush=True)

    if args.parent_pid:
        threading.Thread(target=_watch_parent, args=(args.parent_pid,), daemon=True).start()
    threading.Thread(target=load_or_exit, name="model-load", daemon=True).start()
    config = uvicorn.Config(
        create_app(holder),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=75,
        # The runner SIGKILLs after 5 s; answer what is in flight within that, then go.
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    sockets = [socket.socket(fileno=args.fd)] if args.fd is not None else None
    server.run(sockets=sockets)


if __name__ == "__main__":
    main()
