"""The run page (params, metrics, tags, datasets, artifacts, lineage) and its artifact files."""

from __future__ import annotations

import mimetypes

from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from runyard.api.artifacts import mime_type
from runyard.artifacts.base import join_path
from runyard.entities import Run
from runyard.errors import InvalidParameter, NotFound
from runyard.services.artifacts import proxied_path
from runyard.ui.web import SECURITY_HEADERS, Ctx

PARENT_TAG = "mlflow.parentRunId"
_PREVIEW_BYTES = 64 * 1024
_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"}


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _children(ctx: Ctx, run: Run) -> list[Run]:
    page = ctx.services.runs.search(
        ctx.ws,
        [run.info.experiment_id],
        f"tags.`{PARENT_TAG}` = {_quoted(run.info.run_id)}",
        "ALL",
        100,
        ["attributes.start_time ASC"],
        None,
    )
    return page.items


def _parent(ctx: Ctx, run: Run) -> Run | None:
    parent_id = run.tags.get(PARENT_TAG)
    if not parent_id:
        return None
    try:
        return ctx.services.runs.get(ctx.ws, parent_id)
    except NotFound:
        return None


def run_page(ctx: Ctx) -> Response:
    run = ctx.services.runs.get(ctx.ws, ctx.request.path_params["run_id"])
    exp = ctx.services.experiments.get(ctx.ws, run.info.experiment_id)
    versions = ctx.services.model_versions.search(
        ctx.ws, f"run_id = {_quoted(run.info.run_id)}", ["name ASC"], 100, None
    ).items
    path = ctx.param("path")
    listing, preview, listed_dir = _artifacts(ctx, run, path)
    metric_keys = sorted({k for k, *_ in run.metrics})
    user_tags = {k: v for k, v in sorted(run.tags.items()) if not k.startswith("mlflow.")}
    system_tags = {k: v for k, v in sorted(run.tags.items()) if k.startswith("mlflow.")}
    return ctx.render(
        "run.html",
        run=run,
        exp=exp,
        metrics=sorted(run.metrics),
        metric_keys=metric_keys,
        params=sorted(run.params.items()),
        user_tags=user_tags,
        system_tags=system_tags,
        versions=versions,
        parent=_parent(ctx, run),
        children=_children(ctx, run),
        listing=listing,
        listed_dir=listed_dir,
        preview=preview,
        path=path,
    )


def _store_path(run: Run, rel: str) -> str:
    root = proxied_path(run.info.artifact_uri)
    if root is None:
        raise InvalidParameter(
            f"This run's artifacts live at {run.info.artifact_uri}, which this server does not proxy; "
            "read them with the mlflow client."
        )
    return join_path(root, rel)


def _artifacts(ctx: Ctx, run: Run, path: str) -> tuple[list, dict | None, str]:
    """The listing of ``path``'s folder (or ``path`` itself) and a preview if it is a file."""
    svc = ctx.services.artifacts
    try:
        _root, entries = svc.list_run_artifacts(ctx.ws, run.info.run_id, path or None)
    except (NotFound, InvalidParameter):
        entries = []
    is_file = bool(path) and not entries and _is_file(ctx, run, path)
    if not is_file:
        return entries, None, path
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    _root, siblings = svc.list_run_artifacts(ctx.ws, run.info.run_id, parent or None)
    mime = mime_type(path.rsplit("/", 1)[-1])
    preview: dict = {"path": path, "mime": mime, "kind": "other"}
    if mime in _IMAGES:
        preview["kind"] = "image"
    elif mime.startswith("text/") or mime == "application/json":
        stream = svc.open_read(ctx.ws, _store_path(run, path), 0, None)
        try:
            data = b""
            for chunk in stream:
                data += chunk
                if len(data) >= _PREVIEW_BYTES:
                    break
        finally:
            stream.close()
        preview.update(kind="text", text=data[:_PREVIEW_BYTES].decode("utf-8", "replace"),
                       truncated=stream.total > _PREVIEW_BYTES)  # fmt: skip
    return siblings, preview, parent


def _is_file(ctx: Ctx, run: Run, path: str) -> bool:
    try:
        stream = ctx.services.artifacts.open_read(ctx.ws, _store_path(run, path), 0, 0)
    except (NotFound, InvalidParameter):
        return False
    stream.close()
    return True


def artifact_file(ctx: Ctx) -> Response:
    """The bytes of one run artifact: inline for previews, as a download with ?download=1."""
    run = ctx.services.runs.get(ctx.ws, ctx.request.path_params["run_id"])
    path = ctx.param("path")
    if not path:
        raise InvalidParameter(
            "Missing value for required parameter 'path' (the artifact's path in the run)."
        )
    stream = ctx.services.artifacts.open_read(ctx.ws, _store_path(run, path))
    name = path.rsplit("/", 1)[-1]
    mime = mime_type(name)
    inline = not ctx.param("download") and (mime in _IMAGES or mime == "text/plain")
    headers = {
        **SECURITY_HEADERS,
        # Artifacts are user content: never let a browser run them as a page of this site.
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
        "Content-Length": str(stream.size),
        "Content-Disposition": ("inline" if inline else "attachment") + f'; filename="{_safe_name(name)}"',
    }
    return StreamingResponse(
        stream,
        media_type=mime if inline else (mimetypes.guess_type(name)[0] or mime),
        headers=headers,
        background=BackgroundTask(stream.close),
    )


def _safe_name(name: str) -> str:
    return "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\' else "_" for ch in name)


__all__ = ["artifact_file", "run_page"]
