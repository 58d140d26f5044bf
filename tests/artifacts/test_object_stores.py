"""What only object stores have: URIs and credentials, part sizes S3 refuses, staging, sweeping.

Runs against the same real SeaweedFS and Azurite as the contract tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from runyard.artifacts.base import ArtifactBackend, FileEntry, InvalidArtifactPath, Part, artifact_backend
from runyard.artifacts.object_store import PART_SIZE, configure
from runyard.errors import InternalError, InvalidParameter
from tests.artifacts.conftest import BUCKET, CONTAINER, fresh_prefix
from tests.support.azurite import ACCOUNT

MiB = 1 << 20


@pytest.fixture(params=["s3", "azure"])
def store(request: pytest.FixtureRequest) -> ArtifactBackend:
    if request.param == "s3":
        from runyard.artifacts.s3 import S3Backend

        seaweedfs = request.getfixturevalue("seaweedfs")
        return S3Backend(BUCKET, fresh_prefix(), seaweedfs.endpoint, client=seaweedfs.client())
    azurite = request.getfixturevalue("azurite")
    configure(azure_connection_string=azurite.connection_string)
    try:
        return artifact_backend(f"abfss://{CONTAINER}@{ACCOUNT}.dfs.core.windows.net/{fresh_prefix()}")
    finally:
        configure()


def pieces(seed: bytes, size: int, chunk: int = MiB) -> Iterator[bytes]:
    """``size`` deterministic bytes in chunks (nothing large is built in the test)."""
    block = hashlib.sha256(seed).digest() * (chunk // 32)
    left = size
    while left > 0:
        yield block[: min(chunk, left)]
        left -= min(chunk, left)


def digest(chunks: Iterator[bytes]) -> str:
    h = hashlib.sha256()
    for c in chunks:
        h.update(c)
    return h.hexdigest()


def test_large_write_streams_in_parts_and_reads_back_across_them(store):
    size = 2 * PART_SIZE + 3 * MiB + 17  # three store parts (or blocks), the last one short
    assert store.write("big/data.bin", pieces(b"w", size)) == size
    assert store.list("big") == [FileEntry("big/data.bin", False, size)]
    with store.open_read("big/data.bin") as s:
        assert digest(iter(s)) == digest(pieces(b"w", size))
    whole = b"".join(pieces(b"w", size))
    start = PART_SIZE - 100  # a range that spans a part boundary
    with store.open_read("big/data.bin", start=start, length=300) as s:
        assert s.read_all() == whole[start : start + 300]


def test_multipart_with_parts_of_any_size(store):
    """S3 refuses parts under 5 MiB but the last; clients may send any. Sizes here mix both."""
    sizes = {1: 6 * MiB, 2: MiB + 3, 3: 7 * MiB, 4: 2 * MiB, 5: 5 * MiB}
    upload = store.create_multipart("mp/model.bin")
    etags = {n: store.upload_part("mp/model.bin", upload, n, pieces(bytes([n]), s)) for n, s in sizes.items()}
    total = store.complete_multipart("mp/model.bin", upload, [Part(n, etags[n]) for n in sizes])
    assert total == sum(sizes.values())
    expected = hashlib.sha256()
    for n, s in sizes.items():
        for c in pieces(bytes([n]), s):
            expected.update(c)
    with store.open_read("mp/model.bin") as s:
        assert digest(iter(s)) == expected.hexdigest()
    assert store.list("") == [FileEntry("mp", True, None)]  # the staging area is gone and hidden


def test_staging_area_is_hidden_and_reserved(store):
    upload = store.create_multipart("a.bin")
    store.upload_part("a.bin", upload, 1, [b"x"])
    assert store.list("") == []  # an upload in flight shows nothing
    with pytest.raises(InvalidArtifactPath, match="reserved"):
        store.open_read(f".runyard/uploads/{upload}/target")
    with pytest.raises(InvalidArtifactPath, match="reserved"):
        store.write(".runyard/x", [b"y"])
    store.delete("")  # emptying the root keeps uploads in flight
    store.complete_multipart("a.bin", upload, [Part(1)])
    assert store.list("") == [FileEntry("a.bin", False, 1)]


def test_purge_stale_drops_abandoned_uploads(store):
    upload = store.create_multipart("stale.bin")
    store.upload_part("stale.bin", upload, 1, [b"x"])
    assert store.purge_stale(3600) == 0
    assert store.purge_stale(0) == 1
    with pytest.raises(InvalidParameter):
        store.upload_part("stale.bin", upload, 0, [b"x"])  # numbers are checked first
    from runyard.artifacts.base import ArtifactNotFound

    with pytest.raises(ArtifactNotFound):
        store.upload_part("stale.bin", upload, 2, [b"x"])


def test_a_missing_bucket_or_container_says_so(seaweedfs, azurite):
    from runyard.artifacts.azure import AzureBlobBackend
    from runyard.artifacts.s3 import S3Backend

    s3 = S3Backend("no-such-bucket-here", "", seaweedfs.endpoint, client=seaweedfs.client())
    with pytest.raises(InternalError, match="bucket 'no-such-bucket-here' does not exist"):
        s3.write("x", [b"1"])
    configure(azure_connection_string=azurite.connection_string)
    try:
        az = artifact_backend(f"wasbs://no-such-container@{ACCOUNT}.blob.core.windows.net/p")
    finally:
        configure()
    assert isinstance(az, AzureBlobBackend)
    with pytest.raises(InternalError, match="container 'no-such-container' does not exist"):
        az.list("")


def test_uris_pick_the_backend_and_its_settings(monkeypatch):
    from runyard.artifacts.azure import AzureBlobBackend
    from runyard.artifacts.s3 import S3Backend

    monkeypatch.setenv("RUNYARD_S3_ENDPOINT_URL", "http://127.0.0.1:1")
    s3 = artifact_backend("s3://my-bucket/some/prefix/")
    assert isinstance(s3, S3Backend)
    assert (s3.bucket, s3.prefix, s3.endpoint_url) == ("my-bucket", "some/prefix/", "http://127.0.0.1:1")
    configure(s3_endpoint_url="http://127.0.0.1:2")  # the server's flag wins over the environment
    try:
        assert artifact_backend("s3://b/x").endpoint_url == "http://127.0.0.1:2"
    finally:
        configure()
    with pytest.raises(InvalidParameter, match="s3://bucket"):
        artifact_backend("s3:///no-bucket")
    with pytest.raises(InvalidArtifactPath):
        artifact_backend("s3://b/../escape")

    for uri in (
        "wasbs://c@acct01.blob.core.windows.net/p/q",
        "abfss://c@acct01.dfs.core.windows.net/p/q",
        "wasb://c@acct01.blob.core.windows.net/p/q",
    ):
        backend = artifact_backend(uri)
        assert isinstance(backend, AzureBlobBackend)
        assert (backend.container, backend.prefix) == ("c", "p/q/")
    with pytest.raises(InvalidParameter, match="wasbs://container@account"):
        artifact_backend("wasbs://acct01.blob.core.windows.net/p")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", "AccountName=other;AccountKey=a2V5")
    with pytest.raises(InvalidParameter, match="account 'other'"):
        artifact_backend("abfss://c@acct01.dfs.core.windows.net/p")


def test_object_store_settings_are_documented_flags():
    from runyard.config import Settings

    s = Settings.load(
        {"s3_endpoint_url": "http://h:1"}, env={"RUNYARD_AZURE_STORAGE_CONNECTION_STRING": "X=1"}
    )
    assert (s.s3_endpoint_url, s.azure_storage_connection_string) == ("http://h:1", "X=1")


def test_azure_multipart_without_an_account_key_copies_through_the_server(azurite):
    """With only a SAS (no key to sign server-side copies), complete streams the parts itself."""
    from datetime import datetime, timedelta, timezone

    from azure.storage.blob import (
        AccountSasPermissions,
        BlobServiceClient,
        ResourceTypes,
        generate_account_sas,
    )

    from runyard.artifacts.azure import AzureBlobBackend
    from tests.support.azurite import KEY

    sas = generate_account_sas(
        ACCOUNT,
        KEY,
        ResourceTypes(container=True, object=True),
        AccountSasPermissions(read=True, write=True, delete=True, list=True, create=True, add=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    url = f"http://127.0.0.1:{azurite.port}/{ACCOUNT}"
    store = AzureBlobBackend(CONTAINER, fresh_prefix(), lambda: BlobServiceClient(url, credential=sas))
    upload = store.create_multipart("m.bin")
    sizes = {1: 5 * MiB + 1, 2: 3}
    etags = {n: store.upload_part("m.bin", upload, n, pieces(bytes([n]), s)) for n, s in sizes.items()}
    assert store.complete_multipart("m.bin", upload, [Part(n, e) for n, e in etags.items()]) == 5 * MiB + 4
    with store.open_read("m.bin") as s:
        assert digest(iter(s)) == digest(iter([*pieces(b"\x01", 5 * MiB + 1), *pieces(b"\x02", 3)]))
    assert list(store._iter_keys(store.prefix + ".runyard/")) == []  # its parts are gone
