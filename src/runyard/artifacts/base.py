"""The artifact backend protocol: where artifact bytes live, chosen by URI scheme.

A backend stores files under '/'-separated paths relative to its root. Every method is
synchronous (local files, S3 and Azure SDKs are all blocking); the API layer runs them in
worker threads and bridges request bodies with :func:`write_from_async`. Nothing here
holds a whole file in memory: reads yield chunks, writes consume chunks, and a write is
only visible once it is complete (a crashed or refused upload never leaves a half file).

Backends: ``local.py`` (a folder, ``file://``), ``memory.py`` (the in-package fake used by
tests, ``memory://``), ``s3.py`` (``s3://``), ``azure.py`` (``wasbs://``, ``abfss://``).
Register more with :func:`register_backend`.
"""

from __future__ import annotations

import abc
import contextlib
import re
from collections.abc import AsyncIterable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import unquote, urlparse

import anyio
import anyio.from_thread
import anyio.to_thread

from runyard.errors import InvalidParameter, NotFound

T = TypeVar("T")

# Every backend keeps its own bookkeeping (temporary files, multipart parts) under this
# top-level name, which artifact paths may not use.
STAGING = ".runyard"
UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")  # multipart upload ids: secrets.token_hex(16)
CHUNK_SIZE = 1 << 20  # 1 MiB: large enough to amortise a thread hop, small enough to stream
MAX_PARTS = 10_000  # as S3: the most parts one multipart upload may have

_DRIVE = re.compile(r"^[A-Za-z]:")


class InvalidArtifactPath(InvalidParameter):
    """A path that could leave the backend root (``..``, absolute, backslashes, ...)."""


class ArtifactNotFound(NotFound):
    pass


@dataclass(frozen=True)
class FileEntry:
    """One listing entry. ``path`` is relative to the backend root."""

    path: str
    is_dir: bool
    file_size: int | None = None  # bytes; None for directories

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Part:
    """A finished part of a multipart upload, as the client reports it on complete."""

    part_number: int
    etag: str | None = None


class ReadStream:
    """An open artifact, iterated as chunks and closed when done.

    ``size`` is the number of bytes the stream yields, ``total`` the size of the whole file
    (they differ for a byte range). Opening is eager (a missing file fails before any
    response starts); iteration is lazy.
    """

    def __init__(
        self,
        size: int,
        chunks: Iterator[bytes],
        close: Callable[[], None] | None = None,
        total: int | None = None,
    ) -> None:
        self.size = size
        self.total = size if total is None else total
        self._chunks = chunks
        self._close = close

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            self.close()
            raise

    def read_all(self) -> bytes:
        """For small files and tests only."""
        return b"".join(self)

    def close(self) -> None:
        if self._close is not None:
            close, self._close = self._close, None
            close()

    def __enter__(self) -> ReadStream:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # a disconnected download must not leak its file handle
        with contextlib.suppress(Exception):
            self.close()


def split_path(path: str | None) -> list[str]:
    """Validate an artifact path and return its segments (``""`` and ``None`` are the root).

    Refused: ``..`` segments, absolute paths, Windows drives, backslashes and NUL bytes —
    anything that could name a place outside the root once joined to it.
    """
    if not path:
        return []
    if "\\" in path or "\x00" in path or path.startswith("/") or _DRIVE.match(path):
        raise InvalidArtifactPath(
            f"Invalid artifact path '{path}': use a relative path with '/' separators, "
            "without '..', a leading '/' or a drive letter."
        )
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidArtifactPath(f"Invalid artifact path '{path}': '..' is not allowed.")
    return parts


def join_path(*paths: str | None) -> str:
    """Join validated paths with '/', dropping empty pieces."""
    return "/".join(p for path in paths if path for p in split_path(path))


class ArtifactBackend(abc.ABC):
    """Where artifact files live. Paths are '/'-separated and relative to the root."""

    # -- reading ---------------------------------------------------------------------
    @abc.abstractmethod
    def open_read(
        self, path: str, chunk_size: int = CHUNK_SIZE, start: int = 0, length: int | None = None
    ) -> ReadStream:
        """Open a file for streaming, optionally only ``length`` bytes from ``start``.

        ArtifactNotFound if missing; InvalidParameter if a directory. A range past the end
        is cut at the end of the file.
        """

    @abc.abstractmethod
    def stat(self, path: str) -> FileEntry | None:
        """The entry at ``path`` (file or directory), or None if nothing is there."""

    def exists(self, path: str) -> bool:
        return self.stat(path) is not None

    @abc.abstractmethod
    def list(self, path: str | None = None) -> list[FileEntry]:
        """Direct children of the directory ``path``, sorted by path, with real file sizes.

        A file or a missing path lists as ``[]`` (as MLflow's repositories do).
        """

    # -- writing ---------------------------------------------------------------------
    @abc.abstractmethod
    def write(self, path: str, chunks: Iterable[bytes]) -> int:
        """Store the chunks as the file ``path`` (replacing it); return the size written.

        Atomic: readers see the old file or the complete new one, never a part. If
        ``chunks`` raises, nothing is stored and the exception propagates.
        """

    @abc.abstractmethod
    def delete(self, path: str | None) -> None:
        """Delete a file, or a directory with everything under it. Missing is not an error."""

    # -- multipart uploads -------------------------------------------------------------
    @abc.abstractmethod
    def create_multipart(self, path: str) -> str:
        """Start a multipart upload to ``path``; return its upload id (opaque, unguessable)."""

    @abc.abstractmethod
    def upload_part(self, path: str, upload_id: str, part_number: int, chunks: Iterable[bytes]) -> str:
        """Store one part (1..MAX_PARTS; re-uploading replaces it); return its etag."""

    @abc.abstractmethod
    def complete_multipart(self, path: str, upload_id: str, parts: list[Part]) -> int:
        """Join the listed parts in part-number order into ``path``, atomically; return its size.

        Each listed part must have been uploaded (with the same etag when one is given).
        """

    @abc.abstractmethod
    def abort_multipart(self, path: str, upload_id: str) -> None:
        """Drop an upload and its parts. ArtifactNotFound if the upload is unknown."""

    # -- direct access -------------------------------------------------------------------
    def presigned_url(self, path: str, expires_s: int) -> tuple[str, int] | None:
        """(a URL that reads the file without credentials until ``expires_s`` from now, its size).

        None if this backend cannot hand out such URLs (a local folder): clients are proxied.
        """
        return None

    # -- housekeeping ------------------------------------------------------------------
    def purge_stale(self, max_age_s: float) -> int:
        """Remove leftovers (temp files, abandoned uploads) older than ``max_age_s``."""
        return 0


def check_part_number(part_number: int) -> None:
    if not 1 <= part_number <= MAX_PARTS:
        raise InvalidParameter(f"Invalid part_number {part_number}: parts are numbered 1 to {MAX_PARTS}.")


def check_parts(parts: list[Part]) -> list[Part]:
    """Parts sorted by number; refuses repeats and numbers out of range."""
    ordered = sorted(parts, key=lambda p: p.part_number)
    seen: set[int] = set()
    for p in ordered:
        check_part_number(p.part_number)
        if p.part_number in seen:
            raise InvalidParameter(f"Part {p.part_number} is listed twice; list each part once.")
        seen.add(p.part_number)
    return ordered


def normalize_etag(etag: str | None) -> str | None:
    """ETag headers arrive quoted (``"abc"``); compare them bare."""
    if etag is None:
        return None
    etag = etag.strip()
    if etag.startswith("W/"):
        etag = etag[2:]
    return etag.strip('"') or None


# -- async bridge ------------------------------------------------------------------------
_END = object()


async def write_from_async(
    chunks: AsyncIterable[bytes],
    sink: Callable[[Iterator[bytes]], T],
    *,
    coalesce: int = 512 * 1024,
    depth: int = 2,
) -> T:
    """Run ``sink(chunk_iterator)`` in a worker thread, fed from an async chunk source.

    The event loop reads the source (e.g. ``request.stream()``) into a small bounded queue
    (``depth`` chunks of about ``coalesce`` bytes), so memory stays flat whatever the size.
    If the source fails (client disconnect), the sink's iterator raises the same error and
    the backend discards the partial write. If the sink stops early, reading stops too.
    """
    send, recv = anyio.create_memory_object_stream[object](depth)

    def pull() -> Iterator[bytes]:
        while True:
            try:
                item = anyio.from_thread.run(recv.receive)
            except anyio.EndOfStream:
                # Only an explicit end marker means "complete": a reader that was cancelled
                # (server shutdown) closes the stream too, and that must not commit a half file.
                raise ConnectionError("The upload ended before the whole body was received.") from None
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]

    async def push() -> None:
        async with send:
            try:
                buf: list[bytes] = []
                size = 0
                async for chunk in chunks:
                    if not chunk:
                        continue
                    buf.append(chunk)
                    size += len(chunk)
                    if size >= coalesce:
                        await send.send(b"".join(buf))
                        buf, size = [], 0
                if buf:
                    await send.send(b"".join(buf))
                await send.send(_END)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return  # the sink finished (or failed) without reading everything
            except Exception as exc:  # noqa: BLE001 - handed to the sink, which re-raises it
                with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                    await send.send(exc)

    outcome: list[object] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(push)
        try:
            outcome.append(await anyio.to_thread.run_sync(sink, pull()))
        except BaseException as exc:  # noqa: BLE001 - re-raised below, outside the group
            outcome.append(exc)
        finally:
            recv.close()
            tg.cancel_scope.cancel()  # stop reading a body nobody will consume
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result  # type: ignore[return-value]


# -- registry ----------------------------------------------------------------------------
BackendFactory = Callable[[str], ArtifactBackend]
_FACTORIES: dict[str, BackendFactory] = {}


def register_backend(scheme: str, factory: BackendFactory) -> None:
    """Make ``artifact_backend("<scheme>://...")`` build backends with ``factory(uri)``."""
    _FACTORIES[scheme.lower()] = factory


def artifact_backend(uri: str) -> ArtifactBackend:
    """The backend for a storage URI: a plain folder path, ``file://``, ``memory://``, ...

    Raises InvalidParameter for a scheme no backend is registered for.
    """
    _ensure_builtin()
    scheme = urlparse(uri).scheme.lower()
    if len(scheme) == 1:  # a Windows drive letter, not a scheme
        scheme = ""
    factory = _FACTORIES.get(scheme)
    if factory is None:
        known = ", ".join(sorted(s + "://" for s in _FACTORIES if s)) or "none"
        raise InvalidParameter(
            f"No artifact backend for '{uri}': supported are plain folder paths and {known}."
        )
    return factory(uri)


def local_path_of(uri: str) -> str:
    """The folder a ``file://`` URI (or a plain path) names."""
    parsed = urlparse(uri)
    if parsed.scheme.lower() == "file":
        if parsed.netloc not in ("", "localhost"):
            raise InvalidParameter(
                f"Unsupported file URI '{uri}': only local files (file:///path) are served."
            )
        return unquote(parsed.path)
    return uri


def _ensure_builtin() -> None:
    if "" in _FACTORIES:
        return
    from runyard.artifacts.local import LocalBackend
    from runyard.artifacts.memory import MemoryBackend

    _FACTORIES.setdefault("", lambda uri: LocalBackend(local_path_of(uri)))
    _FACTORIES.setdefault("file", lambda uri: LocalBackend(local_path_of(uri)))
    _FACTORIES.setdefault("memory", MemoryBackend.named)
    _FACTORIES.setdefault("s3", _s3)
    for scheme in ("wasbs", "wasb", "abfss", "abfs"):
        _FACTORIES.setdefault(scheme, _azure)


def _s3(uri: str) -> ArtifactBackend:
    from runyard.artifacts.s3 import S3Backend  # boto3 is imported only when used

    return S3Backend.from_uri(uri)


def _azure(uri: str) -> ArtifactBackend:
    from runyard.artifacts.azure import AzureBlobBackend

    return AzureBlobBackend.from_uri(uri)


__all__ = [
    "CHUNK_SIZE",
    "MAX_PARTS",
    "STAGING",
    "UPLOAD_ID",
    "ArtifactBackend",
    "ArtifactNotFound",
    "FileEntry",
    "InvalidArtifactPath",
    "Part",
    "ReadStream",
    "artifact_backend",
    "check_part_number",
    "check_parts",
    "join_path",
    "local_path_of",
    "normalize_etag",
    "register_backend",
    "split_path",
    "write_from_async",
]
