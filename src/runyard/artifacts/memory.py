"""An in-memory artifact backend: the fake kept in the package for tests (``memory://name``).

It honours the whole contract of ``base.ArtifactBackend`` (atomic writes, real sizes,
recursive deletes, multipart with etags) so tests can swap it for a real store. Named
instances (``memory://a``) are shared within a process, like one bucket.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Iterable
from typing import ClassVar
from urllib.parse import urlparse

from runyard.artifacts.base import (
    CHUNK_SIZE,
    ArtifactBackend,
    ArtifactNotFound,
    FileEntry,
    InvalidArtifactPath,
    Part,
    ReadStream,
    check_part_number,
    check_parts,
    normalize_etag,
    split_path,
)
from runyard.errors import InvalidParameter


class MemoryBackend(ArtifactBackend):
    _named: ClassVar[dict[str, MemoryBackend]] = {}
    _named_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._files: dict[str, bytes] = {}
        self._uploads: dict[str, tuple[str, dict[int, dict[str, bytes]]]] = {}
        self._lock = threading.Lock()

    @classmethod
    def named(cls, uri: str) -> MemoryBackend:
        """The shared instance for ``memory://<name>``."""
        name = urlparse(uri).netloc or urlparse(uri).path
        with cls._named_lock:
            return cls._named.setdefault(name, cls())

    @staticmethod
    def _key(path: str | None) -> str:
        return "/".join(split_path(path))

    def _is_dir(self, key: str) -> bool:
        if not key:
            return True
        prefix = key + "/"
        return any(k.startswith(prefix) for k in self._files)

    # -- reading -----------------------------------------------------------------------
    def open_read(
        self, path: str, chunk_size: int = CHUNK_SIZE, start: int = 0, length: int | None = None
    ) -> ReadStream:
        key = self._key(path)
        with self._lock:
            data = self._files.get(key)
            is_dir = data is None and self._is_dir(key)
        if is_dir:
            raise InvalidParameter(f"Artifact path refers to a directory, not a file: '{path}'")
        if data is None:
            raise ArtifactNotFound(f"No artifact at '{path}'.")
        start = min(max(start, 0), len(data))
        end = len(data) if length is None else min(len(data), start + max(length, 0))
        view = memoryview(data)[start:end]
        pieces = (bytes(view[i : i + chunk_size]) for i in range(0, len(view), chunk_size))
        return ReadStream(len(view), pieces, total=len(data))

    def stat(self, path: str) -> FileEntry | None:
        key = self._key(path)
        with self._lock:
            if key in self._files:
                return FileEntry(key, False, len(self._files[key]))
            return FileEntry(key, True, None) if self._is_dir(key) else None

    def list(self, path: str | None = None) -> list[FileEntry]:
        key = self._key(path)
        prefix = key + "/" if key else ""
        found: dict[str, FileEntry] = {}
        with self._lock:
            for k, data in self._files.items():
                if not k.startswith(prefix):
                    continue
                head, sep, _ = k[len(prefix) :].partition("/")
                child = prefix + head
                found[child] = FileEntry(child, True, None) if sep else FileEntry(child, False, len(data))
        return [found[k] for k in sorted(found)]

    # -- writing -----------------------------------------------------------------------
    def _check_target(self, key: str, path: str) -> None:
        if not key:
            raise InvalidArtifactPath("Invalid artifact path '': a file needs a name.")
        parts = key.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in self._files:
                raise InvalidParameter(f"Cannot write '{path}': a file is in the way of its folder.")
        if self._is_dir(key):
            raise InvalidParameter(f"Cannot write '{path}': a folder with that name exists.")

    def write(self, path: str, chunks: Iterable[bytes]) -> int:
        key = self._key(path)
        with self._lock:
            self._check_target(key, path)
        data = b"".join(chunks)  # a fake: holding the file is fine here
        with self._lock:
            self._check_target(key, path)
            self._files[key] = data
        return len(data)

    def delete(self, path: str | None) -> None:
        key = self._key(path)
        prefix = key + "/" if key else ""
        with self._lock:
            for k in [k for k in self._files if k == key or k.startswith(prefix)]:
                del self._files[k]

    # -- multipart -----------------------------------------------------------------------
    def _upload(self, path: str, upload_id: str) -> dict[int, dict[str, bytes]]:
        entry = self._uploads.get(upload_id)
        if entry is None or entry[0] != self._key(path):
            raise ArtifactNotFound(f"No multipart upload with id '{upload_id}' for '{path}'.")
        return entry[1]

    def create_multipart(self, path: str) -> str:
        key = self._key(path)
        if not key:
            raise InvalidArtifactPath("Invalid artifact path '': a file needs a name.")
        upload_id = secrets.token_hex(16)
        with self._lock:
            self._uploads[upload_id] = (key, {})
        return upload_id

    def upload_part(self, path: str, upload_id: str, part_number: int, chunks: Iterable[bytes]) -> str:
        check_part_number(part_number)
        with self._lock:
            self._upload(path, upload_id)
        data = b"".join(chunks)
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        with self._lock:
            self._upload(path, upload_id).setdefault(part_number, {})[etag] = data
        return etag

    def complete_multipart(self, path: str, upload_id: str, parts: list[Part]) -> int:
        key = self._key(path)
        with self._lock:
            uploaded = self._upload(path, upload_id)
            pieces = []
            for p in check_parts(parts):
                versions = uploaded.get(p.part_number, {})
                etag = normalize_etag(p.etag)
                if etag is None and versions:
                    etag = next(reversed(versions))  # the latest upload of that part
                if etag not in versions:
                    raise InvalidParameter(
                        f"Part {p.part_number} was not uploaded with etag '{etag}'; "
                        "upload it before completing."
                    )
                pieces.append(versions[etag])
            self._check_target(key, path)
            self._files[key] = b"".join(pieces)
            del self._uploads[upload_id]
            return len(self._files[key])

    def abort_multipart(self, path: str, upload_id: str) -> None:
        with self._lock:
            self._upload(path, upload_id)
            del self._uploads[upload_id]


__all__ = ["MemoryBackend"]
