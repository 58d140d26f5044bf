"""Artifacts in an S3-compatible bucket (``s3://bucket/prefix``; AWS, SeaweedFS, MinIO, Ceph...).

Credentials come from the standard AWS chain (``AWS_ACCESS_KEY_ID``..., profiles, instance
roles); the endpoint from ``--s3-endpoint-url`` for stores other than AWS. Writes stream as
S3 multipart uploads of ``PART_SIZE`` parts (one part in memory at a time) and are atomic
because S3 only shows an object once it is complete. A client part of unknown length is
spooled to a temp file (S3 needs each length up front), so memory stays flat whatever its size.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import tempfile
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlparse

from runyard.artifacts.base import (
    CHUNK_SIZE,
    ArtifactNotFound,
    Part,
    ReadStream,
    check_part_number,
    check_parts,
    normalize_etag,
)
from runyard.artifacts.object_store import PART_SIZE, ObjectStoreBackend, clean_prefix, options
from runyard.errors import InternalError, InvalidParameter

_MISSING = {"404", "NoSuchKey", "NotFound"}
_MIN_PART = 5 << 20  # S3: every part but the last is at least 5 MiB...
_MAX_COPY = 5 << 30  # ...and at most 5 GiB


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


class S3Backend(ObjectStoreBackend):
    def __init__(
        self, bucket: str, prefix: str = "", endpoint_url: str | None = None, client: Any = None
    ) -> None:
        """``client``: a ready boto3 S3 client (own session or credentials); else one is made."""
        self.bucket = bucket
        self.prefix = clean_prefix(prefix)
        self.endpoint_url = endpoint_url
        self._client: Any = client
        self._lock = threading.Lock()

    @classmethod
    def from_uri(cls, uri: str) -> S3Backend:
        parsed = urlparse(uri)
        if not parsed.netloc:
            raise InvalidParameter(f"Invalid S3 URI '{uri}': use s3://bucket/optional/prefix.")
        if importlib.util.find_spec("boto3") is None:  # say so at start-up, not on the first upload
            raise InternalError(f"Artifact storage at '{uri}' needs boto3: pip install 'runyard[s3]'.")
        return cls(parsed.netloc, parsed.path, options().s3_endpoint_url)

    def __repr__(self) -> str:
        return f"S3Backend(s3://{self.bucket}/{self.prefix}, endpoint={self.endpoint_url})"

    @property
    def client(self) -> Any:
        """Made on first use (building the backend makes no network call); thread-safe."""
        with self._lock:  # boto3's default session is not safe to build clients from concurrently
            if self._client is None:
                import boto3
                from botocore.config import Config

                config = Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=32)
                self._client = boto3.session.Session().client(
                    "s3", endpoint_url=self.endpoint_url, config=config
                )
        return self._client

    def _call(self, method: str, **kwargs: Any) -> Any:
        """Call the S3 API, turning a missing bucket into a message the operator can act on."""
        from botocore.exceptions import ClientError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            if _code(exc) == "NoSuchBucket":
                raise InternalError(
                    f"The artifact bucket '{self.bucket}' does not exist"
                    f"{' at ' + self.endpoint_url if self.endpoint_url else ''}: create it first."
                ) from exc
            raise

    # -- primitives -------------------------------------------------------------------------------
    def _head(self, key: str) -> int | None:
        return None if (meta := self._head_object(key)) is None else int(meta["ContentLength"])

    def _head_object(self, key: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            return self._call("head_object", Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise

    def _pages(self, prefix: str, delimiter: str | None = None, max_keys: int = 1000) -> Iterator[dict]:
        kwargs: dict[str, Any] = {"Prefix": prefix, "MaxKeys": max_keys}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        while True:
            page = self._call("list_objects_v2", **kwargs)
            yield page
            if not page.get("IsTruncated"):
                return
            kwargs["ContinuationToken"] = page["NextContinuationToken"]

    def _list_level(self, prefix: str) -> tuple[list[tuple[str, int]], list[str]]:
        files: list[tuple[str, int]] = []
        dirs: list[str] = []
        for page in self._pages(prefix, "/"):
            files += [(o["Key"], int(o["Size"])) for o in page.get("Contents", [])]
            dirs += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        return files, dirs

    def _has_any(self, prefix: str) -> bool:
        page = self._call("list_objects_v2", Prefix=prefix, MaxKeys=1)
        return bool(page.get("Contents") or page.get("CommonPrefixes"))

    def _iter_keys(self, prefix: str) -> Iterator[str]:
        for page in self._pages(prefix):
            for o in page.get("Contents", []):
                yield o["Key"]

    def _delete_keys(self, keys: list[str]) -> None:
        self._call("delete_objects", Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})

    # -- reading -------------------------------------------------------------------------------------
    def open_read(
        self, path: str, chunk_size: int = CHUNK_SIZE, start: int = 0, length: int | None = None
    ) -> ReadStream:
        _, key = self._file_key(path)
        meta = self._head_object(key)
        if meta is None:
            self._file_size(path)  # raises the right error (a folder, or nothing)
        total = int(meta["ContentLength"])  # type: ignore[index]
        start, size = self._range(total, start, length)
        if size == 0:
            return ReadStream(0, iter(()), total=total)
        # IfMatch: an overwrite between HEAD and GET must not splice two versions.
        body = self._call(
            "get_object", Key=key, Range=f"bytes={start}-{start + size - 1}", IfMatch=meta["ETag"]
        )["Body"]  # type: ignore[index]
        return ReadStream(size, body.iter_chunks(chunk_size), body.close, total=total)

    def presigned_url(self, path: str, expires_s: int) -> tuple[str, int] | None:
        key, size = self._file_size(path)
        url = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_s
        )
        return url, size

    # -- writing -----------------------------------------------------------------------------------
    def write(self, path: str, chunks: Iterable[bytes]) -> int:
        rel, key = self._file_key(path)
        self._check_target(rel, path)
        it = iter(chunks)
        first, more = _fill(it, PART_SIZE)
        if not more:  # small file: one PUT
            self._call("put_object", Key=key, Body=first)
            return len(first)
        upload_id = self._call("create_multipart_upload", Key=key)["UploadId"]
        try:
            done: list[dict[str, Any]] = []
            size, buf = 0, first
            while buf:
                part = len(done) + 1
                etag = self._call("upload_part", Key=key, UploadId=upload_id, PartNumber=part, Body=buf)[
                    "ETag"
                ]
                done.append({"PartNumber": part, "ETag": etag})
                size += len(buf)
                buf = b""  # let the sent part go before the next one is read
                # Parts grow with the file so that 10,000 of them still hold a very large one.
                buf, _ = _fill(it, PART_SIZE * (1 + part // 1000))
            self._call(
                "complete_multipart_upload", Key=key, UploadId=upload_id, MultipartUpload={"Parts": done}
            )
        except BaseException:
            with contextlib.suppress(Exception):
                self._call("abort_multipart_upload", Key=key, UploadId=upload_id)
            raise
        return size

    # -- multipart ---------------------------------------------------------------------------------
    # Client parts are objects under .runyard/uploads/<upload_id>/ (S3 forbids parts under 5 MiB
    # but the last, clients may send any size); complete assembles them with one native S3
    # multipart upload, copying each part server-side (UploadPartCopy) and downloading only
    # pieces too small to be an S3 part on their own.
    def _read_marker(self, key: str) -> str | None:
        from botocore.exceptions import ClientError

        try:
            return self._call("get_object", Key=key)["Body"].read().decode()
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise

    def _write_marker(self, key: str, text: str) -> None:
        self._call("put_object", Key=key, Body=text.encode())

    def upload_part(self, path: str, upload_id: str, part_number: int, chunks: Iterable[bytes]) -> str:
        check_part_number(part_number)
        folder = self._upload(path, upload_id)
        md5 = hashlib.md5(usedforsecurity=False)
        # Spilled to disk past 1 MiB: clients upload many parts at once, each would hold its buffer.
        with tempfile.SpooledTemporaryFile(max_size=CHUNK_SIZE) as spool:
            size = 0
            for chunk in chunks:
                spool.write(chunk)
                md5.update(chunk)
                size += len(chunk)
            spool.seek(0)
            etag = md5.hexdigest()
            # Keyed by etag, so a retried part never clobbers one a slower request completes.
            self._call(
                "put_object", Key=f"{folder}part-{part_number:05d}-{etag}", Body=spool, ContentLength=size
            )
        if self._head(folder + "target") is None:  # aborted meanwhile: leave nothing behind
            self._delete_keys([f"{folder}part-{part_number:05d}-{etag}"])
            raise ArtifactNotFound(f"No multipart upload with id '{upload_id}'.")
        return etag

    def complete_multipart(self, path: str, upload_id: str, parts: list[Part]) -> int:
        rel, key = self._file_key(path)
        folder = self._upload(path, upload_id)
        uploaded: dict[int, list[tuple[Any, str, int]]] = {}
        for page in self._pages(folder + "part-"):
            for o in page.get("Contents", []):
                number, etag = o["Key"][len(folder) + 5 :].split("-", 1)
                uploaded.setdefault(int(number), []).append((o["LastModified"], o["Key"], int(o["Size"])))
        sources = []
        for p in check_parts(parts):
            versions = sorted(uploaded.get(p.part_number, []), reverse=True)  # newest first
            etag = normalize_etag(p.etag)
            match = [v for v in versions if etag is None or v[1].endswith("-" + etag)]
            if not match:
                raise InvalidParameter(
                    f"Part {p.part_number} was not uploaded{f' with etag {etag!r}' if etag else ''}; "
                    "upload it before completing."
                )
            sources.append((match[0][1], match[0][2]))
        self._check_target(rel, path)
        size = self._compose(key, sources)
        self._delete_keys(list(self._iter_keys(folder)))
        return size

    def _compose(self, key: str, sources: list[tuple[str, int]]) -> int:
        """Join objects into ``key`` with one S3 multipart upload; memory stays under 5 MiB."""
        total = sum(size for _, size in sources)
        if total < _MIN_PART:
            data = b"".join(self._get_range(src, 0, size) for src, size in sources if size)
            self._call("put_object", Key=key, Body=data)
            return total
        upload_id = self._call("create_multipart_upload", Key=key)["UploadId"]
        done: list[dict[str, Any]] = []

        def add(**body: Any) -> None:
            number = len(done) + 1
            if "CopySource" in body:
                etag = self._call("upload_part_copy", Key=key, UploadId=upload_id, PartNumber=number, **body)[
                    "CopyPartResult"
                ]["ETag"]
            else:
                etag = self._call("upload_part", Key=key, UploadId=upload_id, PartNumber=number, **body)[
                    "ETag"
                ]
            done.append({"PartNumber": number, "ETag": etag})

        try:
            pending = bytearray()  # bytes too few to be a part alone, always < _MIN_PART
            for src, size in sources:
                offset = 0
                if pending:  # top up with the head of this object
                    offset = min(size, _MIN_PART - len(pending))
                    pending += self._get_range(src, 0, offset)
                    if len(pending) >= _MIN_PART:
                        add(Body=bytes(pending))
                        pending = bytearray()
                while size - offset >= _MIN_PART:  # the rest is copied inside the store
                    end = min(size, offset + _MAX_COPY)
                    if 0 < size - end < _MIN_PART:
                        end = size  # never leave a tail too small to stand alone
                    source = {"Bucket": self.bucket, "Key": src}
                    add(CopySource=source, CopySourceRange=f"bytes={offset}-{end - 1}")
                    offset = end
                if offset < size:
                    pending += self._get_range(src, offset, size - offset)
            if pending:
                add(Body=bytes(pending))  # the last part may be small
            self._call(
                "complete_multipart_upload", Key=key, UploadId=upload_id, MultipartUpload={"Parts": done}
            )
        except BaseException:
            with contextlib.suppress(Exception):
                self._call("abort_multipart_upload", Key=key, UploadId=upload_id)
            raise
        return total

    def _get_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        return self._call("get_object", Key=key, Range=f"bytes={start}-{start + length - 1}")["Body"].read()

    def abort_multipart(self, path: str, upload_id: str) -> None:
        self._delete_keys(list(self._iter_keys(self._upload(path, upload_id))))

    def purge_stale(self, max_age_s: float) -> int:
        """Remove uploads nobody finished: our staging objects and S3's own abandoned uploads."""
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=max_age_s)
        removed = 0
        for page in self._pages(self._uploads()):
            for o in page.get("Contents", []):
                if o["Key"].endswith("/target") and o["LastModified"] < cutoff:
                    self._delete_keys(list(self._iter_keys(o["Key"][: -len("target")])))
                    removed += 1
        kwargs: dict[str, Any] = {"Prefix": self.prefix}
        while True:
            page = self._call("list_multipart_uploads", **kwargs)
            for u in page.get("Uploads", []):
                if u["Initiated"] < cutoff:
                    with contextlib.suppress(Exception):
                        self._call("abort_multipart_upload", Key=u["Key"], UploadId=u["UploadId"])
            if not page.get("IsTruncated"):
                return removed
            kwargs.update(KeyMarker=page["NextKeyMarker"], UploadIdMarker=page["NextUploadIdMarker"])


def _fill(it: Iterator[bytes], limit: int) -> tuple[bytes, bool]:
    """Read chunks until ``limit`` bytes (or the end): (the bytes, whether more may follow).

    A chunk that crosses the limit stays whole in this part: chunks are small (~1 MiB).
    """
    pending: list[bytes] = []
    size = 0
    for chunk in it:
        pending.append(chunk)
        size += len(chunk)
        if size >= limit:
            return b"".join(pending), True
    return b"".join(pending), False


__all__ = ["S3Backend"]
