"""What only the local folder backend has: real files, symlinks, the staging area, and the
async bridge that feeds it from a request body."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator

import anyio
import pytest

from runyard.artifacts.base import InvalidArtifactPath, Part, write_from_async
from runyard.artifacts.local import STAGING, LocalBackend


@pytest.fixture
def root(tmp_path):  # noqa: ANN001, ANN201
    return tmp_path / "root"


@pytest.fixture
def store(root) -> LocalBackend:  # noqa: ANN001
    return LocalBackend(root)


def test_files_land_at_root_slash_path(store, root):
    store.write("3/abc/artifacts/model/MLmodel", [b"flavors: {}"])
    assert (root / "3/abc/artifacts/model/MLmodel").read_bytes() == b"flavors: {}"


def test_nothing_is_created_until_the_first_write(root):
    store = LocalBackend(root)
    assert store.list() == []
    assert not root.exists()


def test_a_crashed_upload_leaves_no_file_and_no_visible_temp(store, root):
    def body():  # noqa: ANN202
        yield b"x" * 1000
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        store.write("1/run/artifacts/big.bin", body())
    assert not (root / "1/run/artifacts/big.bin").exists()
    assert list((root / STAGING / "tmp").iterdir()) == []
    assert store.list() == []  # the staging folder is never listed


def test_the_staging_folder_cannot_be_addressed(store):
    store.write("a.txt", [b"x"])
    for path in (STAGING, f"{STAGING}/tmp", f"{STAGING}/uploads/x/target"):
        with pytest.raises(InvalidArtifactPath):
            store.open_read(path)
        with pytest.raises(InvalidArtifactPath):
            store.delete(path)
        with pytest.raises(InvalidArtifactPath):
            store.write(path, [b"evil"])


def test_symlink_escaping_the_root_is_refused(store, root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("top secret")
    store.write("exp/placeholder", [b""])
    os.symlink(outside, root / "exp" / "link")
    os.symlink(outside / "secret.txt", root / "exp" / "file-link")

    for path in ("exp/link/secret.txt", "exp/file-link"):
        with pytest.raises(InvalidArtifactPath, match="outside"):
            store.open_read(path)
    with pytest.raises(InvalidArtifactPath):
        store.write("exp/link/planted.txt", [b"evil"])
    with pytest.raises(InvalidArtifactPath):
        store.list("exp/link")
    with pytest.raises(InvalidArtifactPath):
        store.delete("exp/link")
    with pytest.raises(InvalidArtifactPath):
        store.create_multipart("exp/link/big.bin")
    assert not (outside / "planted.txt").exists()
    assert (outside / "secret.txt").read_text() == "top secret"


def test_symlink_inside_the_root_is_followed(store, root):
    store.write("real/data.txt", [b"inside"])
    os.symlink(root / "real", root / "alias")
    with store.open_read("alias/data.txt") as s:
        assert s.read_all() == b"inside"


def test_root_itself_may_be_a_symlink(tmp_path):
    (tmp_path / "actual").mkdir()
    os.symlink(tmp_path / "actual", tmp_path / "linked")
    store = LocalBackend(tmp_path / "linked")
    store.write("x/y.txt", [b"ok"])
    assert (tmp_path / "actual/x/y.txt").read_bytes() == b"ok"


def test_delete_root_empties_but_keeps_staging(store, root):
    store.write("a/b.txt", [b"1"])
    upload = store.create_multipart("c.bin")
    store.delete("")
    assert store.list() == []
    store.upload_part("c.bin", upload, 1, [b"still here"])  # in-flight uploads survive
    store.complete_multipart("c.bin", upload, [Part(1)])
    assert (root / "c.bin").read_bytes() == b"still here"


def test_multipart_parts_are_staged_then_joined(store, root):
    upload = store.create_multipart("m/big.bin")
    store.upload_part("m/big.bin", upload, 2, [b"world"])
    store.upload_part("m/big.bin", upload, 1, [b"hello "])
    assert not (root / "m/big.bin").exists()
    assert len(list((root / STAGING / "uploads" / upload).glob("*.*"))) == 2
    store.complete_multipart("m/big.bin", upload, [Part(1), Part(2)])
    assert (root / "m/big.bin").read_bytes() == b"hello world"
    assert not (root / STAGING / "uploads" / upload).exists()


def test_purge_stale_removes_only_old_leftovers(store, root):
    old = store.create_multipart("old.bin")
    fresh = store.create_multipart("fresh.bin")
    stale_tmp = root / STAGING / "tmp" / "crashed"
    stale_tmp.parent.mkdir(parents=True, exist_ok=True)
    stale_tmp.write_bytes(b"half")
    past = time.time() - 3 * 86400
    os.utime(root / STAGING / "uploads" / old, (past, past))
    os.utime(stale_tmp, (past, past))

    assert store.purge_stale(86400) == 2
    assert not stale_tmp.exists()
    assert not (root / STAGING / "uploads" / old).exists()
    assert (root / STAGING / "uploads" / fresh).exists()


# -- the async bridge ---------------------------------------------------------------------------
async def _body(*pieces: bytes, fail: Exception | None = None) -> AsyncIterator[bytes]:
    for p in pieces:
        await anyio.sleep(0)
        yield p
    if fail is not None:
        raise fail


def test_write_from_async_streams_into_the_backend(store, root):
    pieces = [os.urandom(300_000) for _ in range(10)]

    async def main() -> int:
        return await write_from_async(_body(*pieces), lambda chunks: store.write("a/b.bin", chunks))

    assert anyio.run(main) == 3_000_000
    assert (root / "a/b.bin").read_bytes() == b"".join(pieces)


def test_write_from_async_source_failure_aborts_the_write(store, root):
    async def main() -> None:
        await write_from_async(
            _body(b"a" * 2_000_000, fail=OSError("disconnected")), lambda chunks: store.write("x.bin", chunks)
        )

    with pytest.raises(OSError, match="disconnected"):
        anyio.run(main)
    assert not (root / "x.bin").exists()


def test_write_from_async_sink_failure_stops_reading(store):
    consumed = []

    async def endless() -> AsyncIterator[bytes]:
        while True:
            consumed.append(1)
            await anyio.sleep(0)
            yield b"z" * 65536

    async def main() -> None:
        await write_from_async(endless(), lambda chunks: store.write("../refused", chunks))

    with pytest.raises(InvalidArtifactPath):
        anyio.run(main)
    assert len(consumed) < 200  # a few queued chunks at most, not the whole (endless) body


def test_names_too_long_for_the_filesystem_are_refused_cleanly(store):
    long_name = "n" * 300
    for call in (
        lambda: store.write(f"1/{long_name}/x.txt", [b"x"]),
        lambda: store.open_read(f"1/{long_name}"),
        lambda: store.list(long_name),
        lambda: store.delete(long_name),
        lambda: store.write("/".join(["d" * 200] * 25), [b"x"]),
    ):
        with pytest.raises(InvalidArtifactPath):
            call()


def test_write_from_async_does_not_wait_for_a_stalled_body_after_a_refusal(store):
    async def stalled() -> AsyncIterator[bytes]:
        yield b"first"
        await anyio.sleep(3600)  # a client that stops sending
        yield b"never"

    async def main() -> None:
        with anyio.fail_after(5):
            await write_from_async(stalled(), lambda chunks: store.write("/abs", chunks))

    with pytest.raises(InvalidArtifactPath):
        anyio.run(main)


def test_write_from_async_cancelled_reader_commits_nothing(store, root):
    async def slow() -> AsyncIterator[bytes]:
        yield b"a" * 1000
        await anyio.sleep(3600)
        yield b"b"

    async def main() -> bool:
        with anyio.move_on_after(0.5) as scope:  # e.g. the server shutting down mid-upload
            await write_from_async(slow(), lambda chunks: store.write("cut.bin", chunks))
        return scope.cancelled_caught

    assert anyio.run(main)
    assert not (root / "cut.bin").exists()
    assert list((root / STAGING / "tmp").iterdir()) == []
