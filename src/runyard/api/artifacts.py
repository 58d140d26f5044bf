"""Handlers for proxied artifacts (/api/2.0/mlflow-artifacts/*) and /api/2.0/mlflow/artifacts/list.

File bodies stream both ways: downloads are a StreamingResponse over the backend's chunks
(with Content-Length), uploads feed ``request.stream()`` to the backend through a small
bounded queue. Neither ever holds a whole file in memory.

Multipart uploads: MLflow's client asks ``mpu/create`` for one credential per part and PUTs
each part to the credential's ``url`` with plain ``requests`` (no auth headers; for S3 the
URL is presigned). For our own stores the URL points back here, at
``mpu/upload/<path>?upload_id=...&part_number=N``; the unguessable upload id is what
authorises the part, exactly as a presigned URL would.
"""

from __future__ import annotations

import mimetypes
import os
import re
from urllib.parse import quote, urlencode

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from runyard.api.call import Call
from runyard.api.router import json_response
from runyard.api.wire import artifacts as w
from runyard.api.wire.base import Empty
from runyard.artifacts.base import FileEntry, Part, write_from_async
from runyard.errors import InvalidParameter

# Served as text/plain, as MLflow does, so the UI can preview them (MLmodel has no extension).
_TEXT = {
    "txt", "log", "err", "cfg", "conf", "cnf", "cf", "ini", "properties", "prop", "hocon", "toml",
    "yaml", "yml", "xml", "json", "js", "py", "py3", "csv", "tsv", "md", "rst", "ipynb",
    "MLmodel", "MLproject",
}  # fmt: skip

_RANGE = re.compile(r"^\s*bytes=(\d*)-(\d*)\s*$")


def mime_type(name: str) -> str:
    ext = os.path.splitext(name)[1].lstrip(".") or name
    if ext in _TEXT:
        return "text/plain"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _content_disposition(name: str) -> str:
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        fallback = name.encode("ascii", "ignore").decode() or "download"
        return f"attachment; filename=\"{_quoted(fallback)}\"; filename*=UTF-8''{quote(name, safe='')}"
    return f'attachment; filename="{_quoted(name)}"'


def _quoted(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"')


def _file(path: str, e: FileEntry) -> w.FileInfo:
    return w.FileInfo(path=path, is_dir=e.is_dir, file_size=None if e.is_dir else e.file_size)


# -- /2.0/mlflow-artifacts/artifacts ------------------------------------------------------
def list_(call: Call, req: w.ListArtifactsMlflowArtifacts) -> w.ListArtifactsMlflowArtifactsResponse:
    entries = call.services.artifacts.list(call.workspace, req.path)
    return w.ListArtifactsMlflowArtifactsResponse(files=[_file(e.name, e) for e in entries])


def byte_range(header: str | None, total: int) -> tuple[int, int] | None:
    """``(start, length)`` for a single ``Range: bytes=...`` header; None to send everything.

    Raises ValueError when the range cannot be satisfied (HTTP 416).
    """
    m = _RANGE.match(header or "")
    if m is None or not (m[1] or m[2]):
        return None  # absent, malformed or several ranges: the whole file, as RFC 9110 allows
    if m[1]:
        start = int(m[1])
        end = min(int(m[2]), total - 1) if m[2] else total - 1
    else:
        start, end = max(total - int(m[2]), 0), total - 1
    if start >= total or end < start:
        raise ValueError(header)
    return start, end - start + 1


async def download(call: Call) -> Response:
    svc, ws, path = call.services.artifacts, call.workspace, call.path_param("path")
    stream = await run_in_threadpool(svc.open_read, ws, path)
    name = path.rstrip("/").rsplit("/", 1)[-1]
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": _content_disposition(name),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache",
    }
    status = 200
    try:
        wanted = byte_range(call.request.headers.get("range"), stream.total)
    except ValueError:
        stream.close()
        return Response(status_code=416, headers={"Content-Range": f"bytes */{stream.total}"})
    if wanted is not None:
        stream.close()
        stream = await run_in_threadpool(svc.open_read, ws, path, *wanted)
        start, length = wanted
        status = 206
        headers["Content-Range"] = f"bytes {start}-{start + length - 1}/{stream.total}"
    headers["Content-Length"] = str(stream.size)
    return StreamingResponse(
        stream,
        status_code=status,
        media_type=mime_type(name),
        headers=headers,
        background=BackgroundTask(stream.close),
    )


async def upload(call: Call) -> Response:
    svc, ws, path = call.services.artifacts, call.workspace, call.path_param("path")
    await write_from_async(call.request.stream(), lambda chunks: svc.write(ws, path, chunks))
    return json_response({})


def delete(call: Call, _req: None) -> Empty:
    call.services.artifacts.delete(call.workspace, call.path_param("path"))
    return Empty()


# -- /2.0/mlflow-artifacts/mpu ------------------------------------------------------------
def _part_url_base(call: Call) -> str:
    """Where parts go: the same server, prefix and workspace the create request came by."""
    url = str(call.request.url)
    return url[: url.find("/mlflow-artifacts/mpu/create")] + "/mlflow-artifacts/mpu/upload/"


def mpu_create(call: Call, req: w.CreateMultipartUpload) -> w.CreateMultipartUploadResponse:
    upload_id, target, num_parts = call.services.artifacts.create_multipart(
        call.workspace, call.path_param("path"), req.path, req.num_parts
    )
    base = _part_url_base(call) + quote(target)
    headers = {"X-MLFLOW-WORKSPACE": call.workspace.name}
    credentials = [
        w.MultipartUploadCredential(
            url=f"{base}?{urlencode({'upload_id': upload_id, 'part_number': n})}",
            part_number=n,
            headers=headers,
        )
        for n in range(1, num_parts + 1)
    ]
    return w.CreateMultipartUploadResponse(upload_id=upload_id, credentials=credentials)


async def mpu_upload(call: Call) -> Response:
    svc, ws, path = call.services.artifacts, call.workspace, call.path_param("path")
    query = call.request.query_params
    upload_id = query.get("upload_id")
    try:
        part_number = int(query.get("part_number", ""))
    except ValueError:
        raise InvalidParameter(
            f"Invalid part_number '{query.get('part_number')}': it must be an integer from 1 to 10000."
        ) from None
    etag = await write_from_async(
        call.request.stream(), lambda chunks: svc.upload_part(ws, path, upload_id, part_number, chunks)
    )
    return Response(b"{}", media_type="application/json", headers={"ETag": f'"{etag}"'})


def mpu_complete(call: Call, req: w.CompleteMultipartUpload) -> Empty:
    parts = [Part(p.part_number, p.etag) for p in req.parts]
    call.services.artifacts.complete_multipart(
        call.workspace, call.path_param("path"), req.path, req.upload_id, parts
    )
    return Empty()


def mpu_abort(call: Call, req: w.AbortMultipartUpload) -> Empty:
    call.services.artifacts.abort_multipart(call.workspace, call.path_param("path"), req.path, req.upload_id)
    return Empty()


# -- /2.0/mlflow/artifacts/list -----------------------------------------------------------
def list_run(call: Call, req: w.ListArtifacts) -> w.ListArtifactsResponse:
    root_uri, entries = call.services.artifacts.list_run_artifacts(
        call.workspace, req.run_id or req.run_uuid, req.path
    )
    return w.ListArtifactsResponse(root_uri=root_uri, files=[_file(e.path, e) for e in entries])
