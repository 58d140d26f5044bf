"""Artifact storage backends, chosen by URI scheme (see ``base.py`` for the protocol)."""

from runyard.artifacts.base import (
    ArtifactBackend,
    ArtifactNotFound,
    FileEntry,
    InvalidArtifactPath,
    Part,
    ReadStream,
    artifact_backend,
    register_backend,
    write_from_async,
)

__all__ = [
    "ArtifactBackend",
    "ArtifactNotFound",
    "FileEntry",
    "InvalidArtifactPath",
    "Part",
    "ReadStream",
    "artifact_backend",
    "register_backend",
    "write_from_async",
]
