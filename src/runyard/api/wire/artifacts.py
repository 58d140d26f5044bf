"""Artifact messages: mlflow-artifacts (MlflowArtifactsService) and /2.0/mlflow/artifacts/list."""

from __future__ import annotations

from runyard.api.wire.base import Message


class FileInfo(Message):
    path: str
    is_dir: bool  # required, so always sent: the client reads f["is_dir"]
    file_size: int | None = None  # omitted for directories


class ListArtifactsMlflowArtifacts(Message):
    path: str | None = None


class ListArtifactsMlflowArtifactsResponse(Message):
    files: list[FileInfo] = []


class ListArtifacts(Message):
    run_id: str | None = None
    run_uuid: str | None = None  # deprecated alias of run_id, still sent by old clients
    path: str | None = None
    page_token: str | None = None


class ListArtifactsResponse(Message):
    root_uri: str | None = None
    files: list[FileInfo] = []
    next_page_token: str | None = None


class CreateMultipartUpload(Message):
    path: str | None = None  # the client's local file; its name is the artifact's name
    num_parts: int | None = None


class MultipartUploadCredential(Message):
    url: str
    part_number: int
    headers: dict[str, str] = {}


class CreateMultipartUploadResponse(Message):
    upload_id: str
    credentials: list[MultipartUploadCredential]  # required: the client reads it even when empty


class MultipartUploadPart(Message):
    part_number: int
    etag: str | None = None
    url: str | None = None


class CompleteMultipartUpload(Message):
    path: str | None = None
    upload_id: str | None = None
    parts: list[MultipartUploadPart] = []


class AbortMultipartUpload(Message):
    path: str | None = None
    upload_id: str | None = None


__all__ = [
    "AbortMultipartUpload",
    "CompleteMultipartUpload",
    "CreateMultipartUpload",
    "CreateMultipartUploadResponse",
    "FileInfo",
    "ListArtifacts",
    "ListArtifactsMlflowArtifacts",
    "ListArtifactsMlflowArtifactsResponse",
    "ListArtifactsResponse",
    "MultipartUploadCredential",
    "MultipartUploadPart",
]
