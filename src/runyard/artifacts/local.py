"""Artifacts in a local folder (the default backend, also ``file://`` URIs).

Writes go to a temp file under ``<root>/.runyard/tmp`` and are moved into place with
``os.replace``, so a crashed upload never leaves a half file where readers look. Multipart
parts live in ``<root>/.runyard/uploads/<upload_id>/`` until complete joins them. The
``.runyard`` folder is hidden from listings and cannot be addressed by paths. No fsync: like
the SQLite store, this is durable against a process crash, not against an OS crash.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import shutil
import stat as stat_mod
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from runyard.artifacts.base import (
    CHUNK_SIZE,
    STAGING,
    UPLOAD_ID,
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
from runyard.errors import InternalError, InvalidParameter

_NAME_MAX, _PATH_MAX = 255, 4000  # the usual Linux limits (leaving room for the root)


class LocalBackend(ArtifactBackend):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        # Nothing is created until the first write: listing a missing folder is just empty.
        self.root = os.path.abspath(os.path.expanduser(os.fspath(root)))

    def __repr__(self) -> str:
        return f"LocalBackend({self.root!r})"

    # -- paths -----------------------------------------------------------------------
    def _real_root(self) -> str:
        return os.path.realpath(self.root)

    def _resolve(self, path: str | None) -> tuple[list[str], str]:
        """Segments and the absolute path; refuses anything that lands outside the root."""
        parts = split_path(path)
        if parts and parts[0] == STAGING:
            raise InvalidArtifactPath(f"Invalid artifact path '{path}': '{STAGING}' is reserved.")
        if any(len(os.fsencode(p)) > _NAME_MAX for p in parts):
            raise InvalidArtifactPath(
                f"Invalid artifact path '{path[:80]}...': each name may be at most {_NAME_MAX} bytes long."
            )
        full = os.path.join(self.root, *parts)
        if len(os.fsencode(full)) > _PATH_MAX:
            raise InvalidArtifactPath(
                f"Invalid artifact path '{path[:80]}...': the stored path would exceed {_PATH_MAX} bytes."
            )
        real_root = self._real_root()
        # realpath follows symlinks in every existing component, so a link that points
        # outside the root is caught whichever segment it is.
        real = os.path.realpath(full)
        if real != real_root and not real.startswith(real_root + os.sep):
            raise InvalidArtifactPath(f"Invalid artifact path '{path}': it leads outside the artifact root.")
        return parts, full

    def _staging(self, *parts: str) -> str:
        path = os.path.join(self.root, STAGING, *parts)
        os.makedirs(path, exist_ok=True)
        return path

    # -- reading -----------------------------------------------------------------------
    def open_read(
        self, path: str, chunk_size: int = CHUNK_SIZE, start: int = 0, length: int | None = None
    ) -> ReadStream:
        _, full = self._resolve(path)
        if not path or os.path.isdir(full):
            raise InvalidParameter(f"Artifact path refers to a directory, not a file: '{path}'")
        try:
            f = open(full, "rb")  # noqa: SIM115 - closed by the ReadStream
        except (FileNotFoundError, NotADirectoryError):
            raise ArtifactNotFound(f"No artifact at '{path}'.") from None
        total = os.fstat(f.fileno()).st_size
        start = min(max(start, 0), total)
        size = total - start if length is None else max(0, min(length, total - start))
        if start:
            f.seek(start)

        def chunks() -> Iterator[bytes]:
            left = size
            while left > 0 and (block := f.read(min(chunk_size, left))):
                left -= len(block)
                yield block

        return ReadStream(size, chunks(), f.close, total=total)

    def stat(self, path: str) -> FileEntry | None:
        parts, full = self._resolve(path)
        try:
            st = os.stat(full)
        except (FileNotFoundError, NotADirectoryError):
            return None
        rel = "/".join(parts)
        if stat_mod.S_ISDIR(st.st_mode):
            return FileEntry(rel, True, None)
        return FileEntry(rel, False, st.st_size)

    def list(self, path: str | None = None) -> list[FileEntry]:
        parts, full = self._resolve(path)
        prefix = "/".join(parts)
        entries = []
        try:
            with os.scandir(full) as it:
                for e in it:
                    if not parts and e.name == STAGING:
                        continue
                    rel = f"{prefix}/{e.name}" if prefix else e.name
                    try:
                        if e.is_dir():
                            entries.append(FileEntry(rel, True, None))
                        else:
                            entries.append(FileEntry(rel, False, e.stat().st_size))
                    except FileNotFoundError:  # deleted (or a dangling link) while listing
                        continue
        except (FileNotFoundError, NotADirectoryError):
            return []
        entries.sort(key=lambda e: e.path)
        return entries

    # -- writing -----------------------------------------------------------------------
    def _write_temp(self, chunks: Iterable[bytes], digest: bool = False) -> tuple[str, int, str | None]:
        """Stream chunks into a new temp file; on any failure remove it and re-raise."""
        fd, tmp = _mkstemp(self._staging("tmp"))
        md5 = hashlib.md5(usedforsecurity=False) if digest else None
        size = 0
        try:
            with _disk_errors(), os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    f.write(chunk)
                    size += len(chunk)
                    if md5 is not None:
                        md5.update(chunk)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return tmp, size, md5.hexdigest() if md5 is not None else None

    def _publish(self, tmp: str, path: str) -> None:
        """Move a finished temp file to ``path`` (re-checked: the tree may have changed)."""
        try:
            parts, full = self._resolve(path)
            if not parts:
                raise InvalidArtifactPath("Invalid artifact path '': a file needs a name.")
            parent = os.path.dirname(full)
            try:
                os.makedirs(parent, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise InvalidParameter(
                    f"Cannot write '{path}': a file is in the way of its folder."
                ) from None
            # makedirs may have followed a link created meanwhile; check again before moving.
            self._resolve(path)
            if os.path.isdir(full) and not os.path.islink(full):
                raise InvalidParameter(f"Cannot write '{path}': a folder with that name exists.")
            os.replace(tmp, full)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def write(self, path: str, chunks: Iterable[bytes]) -> int:
        parts, _ = self._resolve(path)  # refuse before reading any of the body
        if not parts:
            raise InvalidArtifactPath("Invalid artifact path '': a file needs a name.")
        tmp, size, _ = self._write_temp(chunks)
        self._publish(tmp, path)
        return size

    def delete(self, path: str | None) -> None:
        parts, full = self._resolve(path)
        if not parts:
            # The root itself: empty it but keep the folder (and the staging area).
            for e in self.list(None):
                self.delete(e.path)
            return
        if os.path.islink(full) or os.path.isfile(full):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(full)
        elif os.path.isdir(full):
            shutil.rmtree(full, ignore_errors=False)

    # -- multipart -----------------------------------------------------------------------
    def _upload_dir(self, path: str, upload_id: str) -> str:
        if not isinstance(upload_id, str) or not UPLOAD_ID.match(upload_id):
            raise ArtifactNotFound(f"No multipart upload with id '{upload_id}'.")
        folder = os.path.join(self.root, STAGING, "uploads", upload_id)
        try:
            with open(os.path.join(folder, "target"), encoding="utf-8") as f:
                target = f.read()
        except (FileNotFoundError, NotADirectoryError):
            raise ArtifactNotFound(f"No multipart upload with id '{upload_id}'.") from None
        if target != "/".join(split_path(path)):
            raise ArtifactNotFound(f"No multipart upload with id '{upload_id}' for '{path}'.")
        return folder

    def create_multipart(self, path: str) -> str:
        parts, _ = self._resolve(path)
        if not parts:
            raise InvalidArtifactPath("Invalid artifact path '': a file needs a name.")
        upload_id = secrets.token_hex(16)
        folder = self._staging("uploads", upload_id)
        with open(os.path.join(folder, "target"), "w", encoding="utf-8") as f:
            f.write("/".join(parts))
        return upload_id

    def upload_part(self, path: str, upload_id: str, part_number: int, chunks: Iterable[bytes]) -> str:
        check_part_number(part_number)
        folder = self._upload_dir(path, upload_id)
        tmp, _, etag = self._write_temp(chunks, digest=True)
        try:
            # Keyed by etag, so a retried part never clobbers one a slower request completes.
            os.replace(tmp, os.path.join(folder, f"{part_number}.{etag}"))
        except FileNotFoundError:  # aborted while we were writing
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise ArtifactNotFound(f"No multipart upload with id '{upload_id}'.") from None
        return etag  # type: ignore[return-value]

    def _part_file(self, folder: str, part: Part) -> str:
        etag = normalize_etag(part.etag)
        if etag is not None:
            candidate = os.path.join(folder, f"{part.part_number}.{etag}")
            if os.path.isfile(candidate):
                return candidate
            raise InvalidParameter(
                f"Part {part.part_number} with etag '{etag}' was not uploaded; upload it before completing."
            )
        found = sorted(
            Path(folder).glob(f"{part.part_number}.*"), key=lambda p: p.stat().st_mtime, reverse=True
        )
        if not found:
            raise InvalidParameter(f"Part {part.part_number} was not uploaded; upload it before completing.")
        return str(found[0])

    def complete_multipart(self, path: str, upload_id: str, parts: list[Part]) -> int:
        folder = self._upload_dir(path, upload_id)
        files = [self._part_file(folder, p) for p in check_parts(parts)]
        fd, tmp = _mkstemp(self._staging("tmp"))
        size = 0
        try:
            with _disk_errors(), os.fdopen(fd, "wb", buffering=0) as out:
                for name in files:
                    with open(name, "rb", buffering=0) as src:
                        size += _copy(src, out)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._publish(tmp, path)
        shutil.rmtree(folder, ignore_errors=True)
        return size

    def abort_multipart(self, path: str, upload_id: str) -> None:
        shutil.rmtree(self._upload_dir(path, upload_id), ignore_errors=True)

    # -- housekeeping --------------------------------------------------------------------
    def purge_stale(self, max_age_s: float) -> int:
        cutoff = time.time() - max_age_s
        removed = 0
        for sub in ("tmp", "uploads"):
            base = os.path.join(self.root, STAGING, sub)
            try:
                entries = list(os.scandir(base))
            except FileNotFoundError:
                continue
            for e in entries:
                try:
                    if e.stat(follow_symlinks=False).st_mtime >= cutoff:
                        continue
                    if e.is_dir(follow_symlinks=False):
                        shutil.rmtree(e.path, ignore_errors=True)
                    else:
                        os.unlink(e.path)
                    removed += 1
                except FileNotFoundError:
                    continue
        return removed


@contextlib.contextmanager
def _disk_errors() -> Iterator[None]:
    """A full disk is the operator's problem to fix: say so instead of a bare 500."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InternalError(
                f"The artifact store has no space left ({exc.strerror}); free space or raise the quota."
            ) from exc
        raise


def _mkstemp(folder: str) -> tuple[int, str]:
    name = os.path.join(folder, secrets.token_hex(12))
    return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), name


def _copy(src, dst) -> int:  # noqa: ANN001 - binary files
    """Copy a whole file; in-kernel where the OS allows it. Both files are unbuffered."""
    total = 0
    try:
        while n := os.copy_file_range(src.fileno(), dst.fileno(), 1 << 30):
            total += n
        return total
    except (AttributeError, OSError):
        pass
    while block := src.read(CHUNK_SIZE):
        view = memoryview(block)
        while view:  # raw writes may be short
            view = view[dst.write(view) :]
        total += len(block)
    return total


__all__ = ["STAGING", "LocalBackend"]
