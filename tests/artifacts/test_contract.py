"""The artifact backend contract, run once per backend: local folder, in-memory fake, S3, Azure.

S3 runs against a real SeaweedFS and Azure against a real Azurite (see ``conftest.py``); each
test gets a fresh prefix in a shared bucket or container.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import pytest

from runyard.artifacts.base import (
    ArtifactBackend,
    ArtifactNotFound,
    FileEntry,
    InvalidArtifactPath,
    Part,
    artifact_backend,
)
from runyard.artifacts.local import LocalBackend
from runyard.artifacts.memory import MemoryBackend
from runyard.artifacts.object_store import configure
from runyard.errors import InvalidParameter
from tests.artifacts.conftest import BUCKET, CONTAINER, fresh_prefix
from tests.support.azurite import ACCOUNT


@pytest.fixture(params=["local", "memory", "s3", "azure"])
def store(request: pytest.FixtureRequest, tmp_path) -> ArtifactBackend:  # noqa: ANN001
    if request.param == "local":
        return LocalBackend(tmp_path / "root")
    if request.param == "s3":
        from runyard.artifacts.s3 import S3Backend

        seaweedfs = request.getfixturevalue("seaweedfs")
        return S3Backend(BUCKET, fresh_prefix(), seaweedfs.endpoint, client=seaweedfs.client())
    if request.param == "azure":
        azurite = request.getfixturevalue("azurite")
        configure(azure_connection_string=azurite.connection_string)
        try:
            return artifact_backend(f"wasbs://{CONTAINER}@{ACCOUNT}.blob.core.windows.net/{fresh_prefix()}")
        finally:
            configure()
    return MemoryBackend()


def chunks_of(data: bytes, size: int = 7) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def read(store: ArtifactBackend, path: str) -> bytes:
    with store.open_read(path, chunk_size=5) as stream:
        return b"".join(stream)


class Boom(Exception):
    pass


def failing_after(data: bytes) -> Iterator[bytes]:
    yield data
    raise Boom("connection lost")


# -- reading and writing --------------------------------------------------------------------
def test_write_then_read_streams_chunks(store):
    data = os.urandom(1000)
    assert store.write("1/run/artifacts/model.bin", chunks_of(data)) == 1000
    with store.open_read("1/run/artifacts/model.bin", chunk_size=64) as stream:
        assert stream.size == 1000
        parts = list(stream)
    assert b"".join(parts) == data
    assert max(len(p) for p in parts) == 64


def test_read_a_byte_range(store):
    data = bytes(range(200))
    store.write("r.bin", chunks_of(data))
    with store.open_read("r.bin", chunk_size=16, start=10, length=50) as s:
        assert (s.size, s.total) == (50, 200)
        assert b"".join(s) == data[10:60]
    with store.open_read("r.bin", start=190, length=100) as s:  # cut at the end
        assert s.read_all() == data[190:]
    with store.open_read("r.bin", start=150) as s:
        assert (s.size, s.read_all()) == (50, data[150:])
    with store.open_read("r.bin", start=500) as s:
        assert (s.size, s.read_all()) == (0, b"")


def test_overwrite_replaces_content(store):
    store.write("a/b.txt", [b"first version"])
    store.write("a/b.txt", [b"v2"])
    assert read(store, "a/b.txt") == b"v2"


def test_empty_file(store):
    assert store.write("empty", []) == 0
    assert read(store, "empty") == b""
    assert store.stat("empty") == FileEntry("empty", False, 0)


def test_failed_write_leaves_nothing(store):
    with pytest.raises(Boom):
        store.write("x/half.bin", failing_after(b"partial"))
    assert not store.exists("x/half.bin")
    assert store.list("x") == []


def test_failed_overwrite_keeps_old_file(store):
    store.write("keep.txt", [b"old"])
    with pytest.raises(Boom):
        store.write("keep.txt", failing_after(b"new but broken"))
    assert read(store, "keep.txt") == b"old"


def test_read_missing_is_not_found(store):
    with pytest.raises(ArtifactNotFound):
        store.open_read("nope/missing.txt")


def test_read_directory_is_refused(store):
    store.write("d/f.txt", [b"x"])
    with pytest.raises(InvalidParameter, match="directory"):
        store.open_read("d")


def test_cannot_write_over_a_folder_or_under_a_file(store):
    store.write("d/f.txt", [b"x"])
    with pytest.raises(InvalidParameter):
        store.write("d", [b"y"])
    with pytest.raises(InvalidParameter):
        store.write("d/f.txt/g.txt", [b"y"])
    assert read(store, "d/f.txt") == b"x"


# -- listing --------------------------------------------------------------------------------
def test_list_has_real_sizes_and_nested_dirs(store):
    store.write("r/artifacts/a.txt", [b"12345"])
    store.write("r/artifacts/sub/b.bin", [b"x" * 300])
    store.write("r/artifacts/sub/deeper/c", [b""])
    assert store.list("r/artifacts") == [
        FileEntry("r/artifacts/a.txt", False, 5),
        FileEntry("r/artifacts/sub", True, None),
    ]
    assert store.list("r/artifacts/sub") == [
        FileEntry("r/artifacts/sub/b.bin", False, 300),
        FileEntry("r/artifacts/sub/deeper", True, None),
    ]
    assert store.list("r/artifacts/sub/") == store.list("r/artifacts/sub")


def test_list_root(store):
    store.write("top.txt", [b"1"])
    store.write("dir/x", [b"22"])
    expected = [FileEntry("dir", True, None), FileEntry("top.txt", False, 1)]
    assert store.list("") == store.list(None) == expected


def test_list_of_a_file_or_missing_path_is_empty(store):
    store.write("f.txt", [b"x"])
    assert store.list("f.txt") == []
    assert store.list("no/such/dir") == []


def test_stat_and_exists(store):
    store.write("s/t.txt", [b"abc"])
    assert store.stat("s/t.txt") == FileEntry("s/t.txt", False, 3)
    assert store.stat("s") == FileEntry("s", True, None)
    assert store.stat("s/missing") is None
    assert store.exists("s/t.txt") and store.exists("s") and not store.exists("u")


# -- deleting -------------------------------------------------------------------------------
def test_delete_file(store):
    store.write("del/a", [b"1"])
    store.write("del/b", [b"2"])
    store.delete("del/a")
    assert [e.path for e in store.list("del")] == ["del/b"]


def test_delete_is_recursive(store):
    store.write("tree/a/b/c.txt", [b"1"])
    store.write("tree/a/d.txt", [b"2"])
    store.write("tree-sibling.txt", [b"3"])
    store.delete("tree")
    assert not store.exists("tree")
    assert store.exists("tree-sibling.txt")


def test_delete_missing_is_fine(store):
    store.delete("never/was/here")


# -- paths that could escape ------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    ["../escape.txt", "a/../../escape.txt", "a/..", "/etc/passwd", "C:/windows", "a\\..\\b", "nul\x00byte"],
)
def test_traversal_is_refused_everywhere(store, path):
    with pytest.raises(InvalidArtifactPath):
        store.write(path, [b"evil"])
    with pytest.raises(InvalidArtifactPath):
        store.open_read(path)
    with pytest.raises(InvalidArtifactPath):
        store.list(path)
    with pytest.raises(InvalidArtifactPath):
        store.delete(path)
    with pytest.raises(InvalidArtifactPath):
        store.create_multipart(path)


def test_dot_segments_and_double_slashes_are_normalised(store):
    store.write("./a//b/./c.txt", [b"x"])
    assert read(store, "a/b/c.txt") == b"x"


# -- multipart uploads ----------------------------------------------------------------------
def test_multipart_joins_parts_in_part_order(store):
    upload = store.create_multipart("big/file.bin")
    blobs = {n: os.urandom(100 + n) for n in (1, 2, 3)}
    etags = {}
    for n in (3, 1, 2):  # parts arrive in any order (the client uploads them in parallel)
        etags[n] = store.upload_part("big/file.bin", upload, n, chunks_of(blobs[n], 16))
    assert etags[2] == hashlib.md5(blobs[2]).hexdigest()
    size = store.complete_multipart("big/file.bin", upload, [Part(n, f'"{etags[n]}"') for n in (2, 3, 1)])
    assert size == sum(len(b) for b in blobs.values())
    assert read(store, "big/file.bin") == blobs[1] + blobs[2] + blobs[3]
    assert store.list("big") == [FileEntry("big/file.bin", False, size)]


def test_multipart_retried_part_uses_the_listed_etag(store):
    upload = store.create_multipart("r.bin")
    first = store.upload_part("r.bin", upload, 1, [b"first try"])
    second = store.upload_part("r.bin", upload, 1, [b"second try"])
    store.complete_multipart("r.bin", upload, [Part(1, second)])
    assert read(store, "r.bin") == b"second try"
    assert first != second


def test_multipart_part_without_etag_takes_the_latest(store):
    upload = store.create_multipart("n.bin")
    store.upload_part("n.bin", upload, 1, [b"only"])
    store.complete_multipart("n.bin", upload, [Part(1, None)])
    assert read(store, "n.bin") == b"only"


def test_multipart_with_no_parts_is_an_empty_file(store):
    upload = store.create_multipart("zero.bin")
    assert store.complete_multipart("zero.bin", upload, []) == 0
    assert read(store, "zero.bin") == b""


def test_multipart_refuses_missing_or_mismatched_parts(store):
    upload = store.create_multipart("m.bin")
    etag = store.upload_part("m.bin", upload, 1, [b"one"])
    with pytest.raises(InvalidParameter):
        store.complete_multipart("m.bin", upload, [Part(1, etag), Part(2, "0" * 32)])
    with pytest.raises(InvalidParameter):
        store.complete_multipart("m.bin", upload, [Part(1, "f" * 32)])
    with pytest.raises(InvalidParameter):
        store.complete_multipart("m.bin", upload, [Part(1, etag), Part(1, etag)])
    assert not store.exists("m.bin")
    store.complete_multipart("m.bin", upload, [Part(1, etag)])  # still completable
    assert read(store, "m.bin") == b"one"


def test_multipart_part_numbers_are_1_to_10000(store):
    upload = store.create_multipart("p.bin")
    for bad in (0, 10_001):
        with pytest.raises(InvalidParameter):
            store.upload_part("p.bin", upload, bad, [b"x"])


def test_multipart_abort_drops_everything(store):
    upload = store.create_multipart("ab/x.bin")
    store.upload_part("ab/x.bin", upload, 1, [b"data"])
    store.abort_multipart("ab/x.bin", upload)
    assert not store.exists("ab/x.bin")
    with pytest.raises(ArtifactNotFound):
        store.upload_part("ab/x.bin", upload, 2, [b"late"])
    with pytest.raises(ArtifactNotFound):
        store.complete_multipart("ab/x.bin", upload, [])
    with pytest.raises(ArtifactNotFound):
        store.abort_multipart("ab/x.bin", upload)


def test_multipart_upload_id_is_bound_to_its_path(store):
    upload = store.create_multipart("mine.bin")
    with pytest.raises(ArtifactNotFound):
        store.upload_part("other.bin", upload, 1, [b"x"])
    with pytest.raises(ArtifactNotFound):
        store.complete_multipart("other.bin", upload, [])
    with pytest.raises(ArtifactNotFound):
        store.upload_part("mine.bin", "0" * 32, 1, [b"x"])


def test_multipart_uploads_are_independent(store):
    a = store.create_multipart("same.bin")
    b = store.create_multipart("same.bin")
    assert a != b
    store.upload_part("same.bin", a, 1, [b"from a"])
    store.upload_part("same.bin", b, 1, [b"from b"])
    store.complete_multipart("same.bin", b, [Part(1)])
    store.complete_multipart("same.bin", a, [Part(1)])
    assert read(store, "same.bin") == b"from a"


def test_failed_part_upload_is_not_a_part(store):
    upload = store.create_multipart("f.bin")
    with pytest.raises(Boom):
        store.upload_part("f.bin", upload, 1, failing_after(b"half"))
    with pytest.raises(InvalidParameter):
        store.complete_multipart("f.bin", upload, [Part(1)])


# -- the registry -------------------------------------------------------------------------------
def test_registry_picks_backend_by_scheme(tmp_path):
    assert isinstance(artifact_backend(str(tmp_path)), LocalBackend)
    assert artifact_backend(f"file://{tmp_path}").root == str(tmp_path)
    shared = artifact_backend("memory://bucket-a")
    assert isinstance(shared, MemoryBackend)
    assert artifact_backend("memory://bucket-a") is shared
    assert artifact_backend("memory://bucket-b") is not shared
    with pytest.raises(InvalidParameter, match="No artifact backend"):
        artifact_backend("gopher://host/x")
