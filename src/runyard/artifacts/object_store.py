"""What S3 and Azure Blob backends share: folders made of key prefixes, and their settings.

Object stores have no folders: a folder is any key prefix ending in '/', a file is an object.
This base class turns a few store primitives (head, one level of listing, bulk delete) into
the folder semantics of ``base.ArtifactBackend``: stat, sorted listings with real sizes,
recursive delete, and the "no file where a folder is / no folder under a file" rules.
"""

from __future__ import annotations

import abc
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

from runyard.artifacts.base import (
    STAGING,
    UPLOAD_ID,
    ArtifactBackend,
    ArtifactNotFound,
    FileEntry,
    InvalidArtifactPath,
    split_path,
)
from runyard.errors import InvalidParameter

PART_SIZE = 8 << 20  # a streamed write buffers at most one part (S3's minimum part is 5 MiB)


@dataclass(frozen=True)
class ObjectStoreOptions:
    """Process-wide connection settings (``--s3-endpoint-url``, ``--azure-storage-connection-string``)."""

    s3_endpoint_url: str | None = None
    azure_connection_string: str | None = None


_options = ObjectStoreOptions()


def configure(s3_endpoint_url: str | None = None, azure_connection_string: str | None = None) -> None:
    """Set the connection settings for backends built from now on (the server calls this once)."""
    global _options
    _options = ObjectStoreOptions(s3_endpoint_url or None, azure_connection_string or None)


def options() -> ObjectStoreOptions:
    """The configured settings, else the environment (for tools that never called configure)."""
    env = os.environ
    return ObjectStoreOptions(
        _options.s3_endpoint_url or env.get("RUNYARD_S3_ENDPOINT_URL") or env.get("MLFLOW_S3_ENDPOINT_URL"),
        _options.azure_connection_string
        or env.get("RUNYARD_AZURE_STORAGE_CONNECTION_STRING")
        or env.get("AZURE_STORAGE_CONNECTION_STRING"),
    )


def clean_prefix(prefix: str) -> str:
    """A URI's path as a key prefix: '' or 'a/b/' (validated like an artifact path)."""
    parts = split_path(prefix.strip("/"))
    return "/".join(parts) + "/" if parts else ""


class ObjectStoreBackend(ArtifactBackend):
    """Folder semantics over flat keys. Keys are ``self.prefix + path``."""

    prefix: str

    # -- primitives each store provides ----------------------------------------------------
    @abc.abstractmethod
    def _read_marker(self, key: str) -> str | None:
        """The text of the small object ``key``, or None if there is none."""

    @abc.abstractmethod
    def _write_marker(self, key: str, text: str) -> None:
        """Store ``text`` as the small object ``key``."""

    @abc.abstractmethod
    def _head(self, key: str) -> int | None:
        """The size of the object ``key``, or None if there is none."""

    @abc.abstractmethod
    def _list_level(self, prefix: str) -> tuple[list[tuple[str, int]], list[str]]:
        """One level under ``prefix``: (objects as (key, size), sub-prefixes ending in '/')."""

    @abc.abstractmethod
    def _has_any(self, prefix: str) -> bool:
        """Whether any object's key starts with ``prefix``."""

    @abc.abstractmethod
    def _iter_keys(self, prefix: str) -> Iterator[str]:
        """Every object key under ``prefix``, at any depth."""

    @abc.abstractmethod
    def _delete_keys(self, keys: list[str]) -> None:
        """Delete these objects (missing ones are fine)."""

    # -- paths ------------------------------------------------------------------------------
    reserved: str | None = STAGING  # a top-level name the backend keeps for itself

    def _rel(self, path: str | None) -> str:
        parts = split_path(path)
        if parts and self.reserved is not None and parts[0] == self.reserved:
            raise InvalidArtifactPath(f"Invalid artifact path '{path}': '{self.reserved}' is reserved.")
        return "/".join(parts)

    def _file_key(self, path: str | None) -> tuple[str, str]:
        rel = self._rel(path)
        if not rel:
            raise InvalidArtifactPath("Invalid artifact path '': a file needs a name.")
        return rel, self.prefix + rel

    def _dir_prefix(self, rel: str) -> str:
        return self.prefix + rel + "/" if rel else self.prefix

    def _check_target(self, rel: str, path: str) -> None:
        """Refuse a file where a folder is, or under an existing file (as a file system would)."""
        if self._has_any(self.prefix + rel + "/"):
            raise InvalidParameter(f"Cannot write '{path}': a folder with that name exists.")
        parts = rel.split("/")
        for i in range(1, len(parts)):
            if self._head(self.prefix + "/".join(parts[:i])) is not None:
                raise InvalidParameter(f"Cannot write '{path}': a file is in the way of its folder.")

    def _file_size(self, path: str) -> tuple[str, int]:
        """(key, size) of an existing file; the right error for a folder or nothing."""
        _, key = self._file_key(path)
        size = self._head(key)
        if size is None:
            if self._has_any(key + "/"):
                raise InvalidParameter(f"Artifact path refers to a directory, not a file: '{path}'")
            raise ArtifactNotFound(f"No artifact at '{path}'.")
        return key, size

    @staticmethod
    def _range(total: int, start: int, length: int | None) -> tuple[int, int]:
        """(start, size) of a byte range, cut at the end of the file."""
        start = min(max(start, 0), total)
        size = total - start if length is None else max(0, min(length, total - start))
        return start, size

    # -- the protocol ---------------------------------------------------------------------------
    # -- multipart bookkeeping ---------------------------------------------------------------
    # Client parts are objects under .runyard/uploads/<upload_id>/, next to a "target" marker
    # naming the path the upload is for; each store assembles them its own way on complete.
    def _uploads(self, upload_id: str = "") -> str:
        return f"{self.prefix}{STAGING}/uploads/{upload_id}{'/' if upload_id else ''}"

    def _upload(self, path: str, upload_id: str) -> str:
        """The staging folder of an upload to ``path``; ArtifactNotFound if there is none."""
        rel = "/".join(split_path(path))
        if not isinstance(upload_id, str) or not UPLOAD_ID.match(upload_id):
            raise ArtifactNotFound(f"No multipart upload with id '{upload_id}'.")
        folder = self._uploads(upload_id)
        target = self._read_marker(folder + "target")
        if target is None:
            raise ArtifactNotFound(f"No multipart upload with id '{upload_id}'.")
        if target != rel:
            raise ArtifactNotFound(f"No multipart upload with id '{upload_id}' for '{path}'.")
        return folder

    def create_multipart(self, path: str) -> str:
        rel, _ = self._file_key(path)
        upload_id = secrets.token_hex(16)
        self._write_marker(self._uploads(upload_id) + "target", rel)
        return upload_id

    def stat(self, path: str) -> FileEntry | None:
        rel = self._rel(path)
        if not rel:
            return FileEntry("", True, None)
        size = self._head(self.prefix + rel)
        if size is not None:
            return FileEntry(rel, False, size)
        return FileEntry(rel, True, None) if self._has_any(self.prefix + rel + "/") else None

    def list(self, path: str | None = None) -> list[FileEntry]:
        rel = self._rel(path)
        prefix = self._dir_prefix(rel)
        files, dirs = self._list_level(prefix)
        base = rel + "/" if rel else ""
        entries = []
        for key, size in files:
            name = key[len(prefix) :]
            if name:  # "folder/" marker objects some tools create are not files
                entries.append(FileEntry(base + name, False, size))
        for sub in dirs:
            name = sub[len(prefix) :].rstrip("/")
            if name and not (not rel and name == self.reserved):
                entries.append(FileEntry(base + name, True, None))
        entries.sort(key=lambda e: e.path)
        return entries

    def delete(self, path: str | None) -> None:
        rel = self._rel(path)
        batch: list[str] = []
        if rel:
            batch.append(self.prefix + rel)
        for key in self._iter_keys(self._dir_prefix(rel)):
            if not rel and self.reserved and key.startswith(self.prefix + self.reserved + "/"):
                continue  # emptying the root keeps in-flight uploads
            batch.append(key)
            if len(batch) >= 1000:
                self._delete_keys(batch)
                batch = []
        if batch:
            self._delete_keys(batch)


__all__ = [
    "PART_SIZE",
    "ObjectStoreBackend",
    "ObjectStoreOptions",
    "clean_prefix",
    "configure",
    "options",
]
