"""Artifacts in Azure Blob Storage / ADLS Gen2 (``wasbs://`` and ``abfss://`` URIs, Azurite).

``wasbs://container@account.blob.core.windows.net/prefix`` and
``abfss://container@account.dfs.core.windows.net/prefix`` name the same thing: Gen2 accounts
serve the Blob API too. Credentials: ``--azure-storage-connection-string`` (Azurite, or a
real account), else ``AZURE_STORAGE_ACCESS_KEY``, else azure-identity's default chain.

Writes stage ``PART_SIZE`` blocks and commit the block list: nothing is visible until the
commit, so writes are atomic and stream with one block in memory. Multipart parts are
committed to staging blobs under ``<prefix>/.runyard/uploads/<upload_id>/`` (blocks staged
on the target itself would be dropped by any other commit to it); complete copies them, in
order, into blocks of the target inside the store (Put Block From URL; through the server
when there is no account key to sign the copy) and commits once.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.util
import re
import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlparse

from runyard.artifacts.base import (
    CHUNK_SIZE,
    Part,
    ReadStream,
    check_part_number,
    check_parts,
    normalize_etag,
)
from runyard.artifacts.object_store import PART_SIZE, ObjectStoreBackend, clean_prefix, options
from runyard.errors import InternalError, InvalidParameter

_SCHEMES = ("wasbs", "wasb", "abfss", "abfs")
_HOST = re.compile(r"^(?P<account>[a-z0-9]{3,24})\.(?:blob|dfs)\.(?P<suffix>.+)$")
_GET_CHUNK = 4 << 20  # the SDK downloads in pieces of this size (its default first GET is 32 MiB)
_PART_BLOCK = 2 << 20  # blocks of multipart parts (a part blob may have 50,000: parts up to 100 GiB)
_COPY_BLOCK = 100 << 20  # Put Block From URL: at most 100 MiB per block on older service versions


def _account_of(conn: str) -> str | None:
    fields = dict(p.split("=", 1) for p in conn.split(";") if "=" in p)
    return fields.get("AccountName")


class AzureBlobBackend(ObjectStoreBackend):
    def __init__(self, container: str, prefix: str, make_service: Any) -> None:
        self.container = container
        self.prefix = clean_prefix(prefix)
        self._make_service = make_service
        self._client: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_uri(cls, uri: str) -> AzureBlobBackend:
        parsed = urlparse(uri)
        host = _HOST.match(parsed.hostname or "")
        if not parsed.username or host is None:
            raise InvalidParameter(
                f"Invalid Azure URI '{uri}': use wasbs://container@account.blob.core.windows.net/prefix "
                "or abfss://container@account.dfs.core.windows.net/prefix."
            )
        account, suffix = host["account"], host["suffix"]
        if importlib.util.find_spec("azure.storage.blob") is None:  # say so at start-up
            raise InternalError(
                f"Artifact storage at '{uri}' needs azure-storage-blob: pip install 'runyard[azure]'."
            )
        conn = options().azure_connection_string
        if conn and _account_of(conn) not in (None, account):
            raise InvalidParameter(
                f"The Azure connection string is for account '{_account_of(conn)}' but the URI "
                f"'{uri}' names account '{account}': make them agree."
            )
        return cls(parsed.username, parsed.path, lambda: _service(account, suffix, conn))

    def __repr__(self) -> str:
        return f"AzureBlobBackend({self.container}/{self.prefix})"

    @property
    def client(self) -> Any:
        """The container client, made on first use (building the backend makes no network call)."""
        with self._lock:
            if self._client is None:
                self._client = self._make_service().get_container_client(self.container)
        return self._client

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            yield
        except ResourceNotFoundError as exc:
            if getattr(exc, "error_code", None) == "ContainerNotFound":
                raise InternalError(
                    f"The artifact container '{self.container}' does not exist: create it first."
                ) from exc
            raise

    # -- primitives -------------------------------------------------------------------------------
    def _props(self, key: str) -> Any | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            with self._errors():
                return self.client.get_blob_client(key).get_blob_properties()
        except ResourceNotFoundError:
            return None

    def _head(self, key: str) -> int | None:
        props = self._props(key)
        return None if props is None else int(props.size)

    def _list_level(self, prefix: str) -> tuple[list[tuple[str, int]], list[str]]:
        from azure.storage.blob import BlobPrefix

        files: list[tuple[str, int]] = []
        dirs: list[str] = []
        with self._errors():
            for item in self.client.walk_blobs(name_starts_with=prefix, delimiter="/"):
                if isinstance(item, BlobPrefix):
                    dirs.append(item.name)
                else:
                    files.append((item.name, int(item.size)))
        return files, dirs

    def _has_any(self, prefix: str) -> bool:
        with self._errors():
            pages = self.client.list_blob_names(name_starts_with=prefix, results_per_page=1).by_page()
            return any(True for _ in next(pages, []))

    def _iter_keys(self, prefix: str) -> Iterator[str]:
        with self._errors():
            yield from self.client.list_blob_names(name_starts_with=prefix)

    def _delete_keys(self, keys: list[str]) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        for start in range(0, len(keys), 256):  # a blob batch holds at most 256 requests
            batch = keys[start : start + 256]
            try:
                with self._errors():
                    # No retries: a store without the batch API fails fast and we go one by one.
                    self.client.delete_blobs(*batch, raise_on_any_failure=False, retry_total=0)
            except Exception:  # noqa: BLE001 - stores without the batch API: one by one
                for key in batch:
                    with contextlib.suppress(ResourceNotFoundError):
                        self.client.delete_blob(key)

    # -- reading ---------------------------------------------------------------------------------------
    def open_read(
        self, path: str, chunk_size: int = CHUNK_SIZE, start: int = 0, length: int | None = None
    ) -> ReadStream:
        from azure.core import MatchConditions

        _, key = self._file_key(path)
        props = self._props(key)
        if props is None:
            self._file_size(path)  # raises the right error (a folder, or nothing)
        total = int(props.size)
        start, size = self._range(total, start, length)
        if size == 0:
            return ReadStream(0, iter(()), total=total)
        # The etag condition: an overwrite while we stream must fail, not splice two versions.
        downloader = self.client.get_blob_client(key).download_blob(
            offset=start,
            length=size,
            max_concurrency=1,
            etag=props.etag,
            match_condition=MatchConditions.IfNotModified,
        )
        return ReadStream(size, _rechunk(downloader.chunks(), chunk_size), total=total)

    def presigned_url(self, path: str, expires_s: int) -> tuple[str, int] | None:
        """A read-only SAS URL; None without an account key to sign it (clients are proxied)."""
        sas = self._read_sas
        if sas is None:
            return None
        key, size = self._file_size(path)
        return f"{self.client.get_blob_client(key).url}?{sas(key, expires_s)}", size

    @property
    def _read_sas(self) -> Any | None:
        """``sign(blob_name, expires_s)`` for a read-only SAS, or None without an account key."""
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        credential = getattr(self.client, "credential", None)
        account_key = getattr(credential, "account_key", None)
        if not account_key:
            return None

        def sign(name: str, expires_s: int) -> str:
            return generate_blob_sas(
                credential.account_name,
                self.container,
                name,
                account_key=account_key,
                permission=BlobSasPermissions(read=True),
                expiry=datetime.now(timezone.utc) + timedelta(seconds=expires_s),
            )

        return sign

    # -- writing -----------------------------------------------------------------------------------
    def _stage(
        self, blob: Any, chunks: Iterable[bytes], md5: Any = None, block_size: int = PART_SIZE
    ) -> tuple[list[str], int]:
        """Stage the chunks as blocks of ``blob`` (one block in memory); (block ids, size)."""
        ids: list[str] = []
        size = 0
        pending: list[bytes] = []
        buffered = 0

        def flush() -> None:
            block_id = base64.b64encode(secrets.token_bytes(24)).decode()  # all ids one length
            data = b"".join(pending)
            pending.clear()  # only the joined block stays in memory while it is sent
            blob.stage_block(block_id, data)
            ids.append(block_id)

        for chunk in chunks:
            pending.append(chunk)
            buffered += len(chunk)
            size += len(chunk)
            if md5 is not None:
                md5.update(chunk)
            if buffered >= block_size:
                flush()
                buffered = 0
        if pending:
            flush()
        return ids, size

    def write(self, path: str, chunks: Iterable[bytes]) -> int:
        rel, key = self._file_key(path)
        self._check_target(rel, path)
        blob = self.client.get_blob_client(key)
        with self._errors():
            ids, size = self._stage(blob, chunks)
            blob.commit_block_list(ids)
        return size

    # -- multipart ---------------------------------------------------------------------------------
    def _read_marker(self, key: str) -> str | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            with self._errors():
                return self.client.download_blob(key).readall().decode()
        except ResourceNotFoundError:
            return None

    def _write_marker(self, key: str, text: str) -> None:
        with self._errors():
            self.client.upload_blob(key, text.encode())

    def upload_part(self, path: str, upload_id: str, part_number: int, chunks: Iterable[bytes]) -> str:
        check_part_number(part_number)
        folder = self._upload(path, upload_id)
        # Each try gets its own blob, so a retried part never clobbers one a slower request commits.
        blob = self.client.get_blob_client(f"{folder}part-{part_number:05d}-{secrets.token_hex(8)}")
        md5 = hashlib.md5(usedforsecurity=False)
        with self._errors():
            # Small blocks: clients send many parts at once, and each holds one block here.
            ids, _ = self._stage(blob, chunks, md5, block_size=_PART_BLOCK)
            blob.commit_block_list(ids, metadata={"md5": md5.hexdigest()})
        return md5.hexdigest()

    def _part_blobs(self, folder: str) -> dict[int, list[Any]]:
        """Committed part blobs by part number, newest first."""
        found: dict[int, list[Any]] = {}
        with self._errors():
            for b in self.client.list_blobs(name_starts_with=folder + "part-", include=["metadata"]):
                number = int(b.name[len(folder) + 5 :].split("-", 1)[0])
                found.setdefault(number, []).append(b)
        for versions in found.values():
            versions.sort(key=lambda b: b.last_modified, reverse=True)
        return found

    def complete_multipart(self, path: str, upload_id: str, parts: list[Part]) -> int:
        rel, key = self._file_key(path)
        folder = self._upload(path, upload_id)
        uploaded = self._part_blobs(folder)
        sources = []
        for p in check_parts(parts):
            etag = normalize_etag(p.etag)
            versions = uploaded.get(p.part_number, [])
            match = [b for b in versions if etag is None or (b.metadata or {}).get("md5") == etag]
            if not match:
                raise InvalidParameter(
                    f"Part {p.part_number} was not uploaded{f' with etag {etag!r}' if etag else ''}; "
                    "upload it before completing."
                )
            sources.append((match[0].name, int(match[0].size)))
        self._check_target(rel, path)
        blob = self.client.get_blob_client(key)
        with self._errors():
            ids = self._copy_blocks(blob, sources)
            if ids is None:  # no server-side copy here: the bytes pass through, one block at a time
                pieces = (
                    c
                    for name, _ in sources
                    for c in self.client.download_blob(name, max_concurrency=1).chunks()
                )
                ids, _ = self._stage(blob, pieces)
            blob.commit_block_list(ids)
        self.delete_upload(folder)
        return sum(size for _, size in sources)

    def _copy_blocks(self, blob: Any, sources: list[tuple[str, int]]) -> list[str] | None:
        """Stage the sources as blocks of ``blob`` inside the store (Put Block From URL).

        Needs the account key (to sign a read-only SAS for each source); None when there is
        none or the store refuses, and the caller copies through the server instead.
        """
        from azure.core.exceptions import HttpResponseError

        sign = self._read_sas
        if sign is None:
            return None
        ids: list[str] = []
        try:
            for name, size in sources:
                url = f"{self.client.get_blob_client(name).url}?{sign(name, 3600)}"
                for offset in range(0, size, _COPY_BLOCK):
                    block_id = base64.b64encode(secrets.token_bytes(24)).decode()
                    length = min(_COPY_BLOCK, size - offset)
                    blob.stage_block_from_url(block_id, url, source_offset=offset, source_length=length)
                    ids.append(block_id)
        except HttpResponseError as exc:
            if exc.status_code in (400, 403, 501):  # unsupported or not allowed: copy it ourselves
                return None
            raise
        return ids

    def delete_upload(self, folder: str) -> None:
        self._delete_keys(list(self._iter_keys(folder)))

    def abort_multipart(self, path: str, upload_id: str) -> None:
        self.delete_upload(self._upload(path, upload_id))

    def purge_stale(self, max_age_s: float) -> int:
        """Remove the staging blobs of uploads started more than ``max_age_s`` ago."""
        cutoff = time.time() - max_age_s
        removed = 0
        with self._errors():
            for b in self.client.list_blobs(name_starts_with=self._uploads()):
                if b.name.endswith("/target") and b.last_modified.timestamp() < cutoff:
                    self.delete_upload(b.name[: -len("target")])
                    removed += 1
        return removed


def _rechunk(pieces: Iterator[bytes], size: int) -> Iterator[bytes]:
    """Re-cut the SDK's download pieces into the caller's chunk size."""
    for piece in pieces:
        view = memoryview(piece)
        for i in range(0, len(view), size):
            yield bytes(view[i : i + size])


def _service(account: str, suffix: str, conn: str | None) -> Any:
    try:
        from azure.storage.blob import BlobServiceClient
    except ImportError:
        raise InternalError(
            "wasbs:// and abfss:// artifact storage needs azure-storage-blob: pip install 'runyard[azure]'."
        ) from None
    # Small GETs: the SDK's first download request is otherwise 32 MiB held in memory.
    sizes = {"max_single_get_size": _GET_CHUNK, "max_chunk_get_size": _GET_CHUNK}
    if conn:
        return BlobServiceClient.from_connection_string(conn, **sizes)
    import os

    url = f"https://{account}.blob.{suffix}"
    key = os.environ.get("AZURE_STORAGE_ACCESS_KEY")
    if key:
        return BlobServiceClient(url, credential={"account_name": account, "account_key": key}, **sizes)
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise InternalError(
            f"No credential for Azure account '{account}': set --azure-storage-connection-string "
            "(RUNYARD_AZURE_STORAGE_CONNECTION_STRING), AZURE_STORAGE_ACCESS_KEY, or install "
            "azure-identity for managed identities and az login."
        ) from None
    return BlobServiceClient(url, credential=DefaultAzureCredential(), **sizes)


__all__ = ["AzureBlobBackend"]
