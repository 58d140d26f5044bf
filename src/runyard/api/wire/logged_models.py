"""Logged model messages (MLflow 3, /api/2.0/mlflow/logged-models/*)."""

from __future__ import annotations

from runyard.api.wire.base import KeyValue, Message

# The proto enum LoggedModelStatus, indexed by MLflow's LoggedModelStatus.to_int().
STATUS_NAMES = (
    "LOGGED_MODEL_STATUS_UNSPECIFIED",
    "LOGGED_MODEL_PENDING",
    "LOGGED_MODEL_READY",
    "LOGGED_MODEL_UPLOAD_FAILED",
)


class ModelMetric(Message):
    key: str
    value: float | str
    timestamp: int
    step: int
    dataset_name: str | None = None
    dataset_digest: str | None = None
    model_id: str | None = None
    run_id: str | None = None


class LoggedModelInfo(Message):
    model_id: str
    experiment_id: str
    name: str
    creation_timestamp_ms: int
    last_updated_timestamp_ms: int
    artifact_uri: str
    status: str
    model_type: str | None = None
    source_run_id: str | None = None
    status_message: str | None = None
    tags: list[KeyValue] = []


class LoggedModelData(Message):
    params: list[KeyValue] = []
    metrics: list[ModelMetric] = []


class LoggedModel(Message):
    info: LoggedModelInfo
    data: LoggedModelData


class LoggedModelResponse(Message):
    """The response of create, get, finalize: ``{"model": {...}}``."""

    model: LoggedModel


class CreateLoggedModel(Message):
    experiment_id: str | None = None
    name: str | None = None
    model_type: str | None = None
    source_run_id: str | None = None
    params: list[KeyValue] = []
    tags: list[KeyValue] = []


class GetLoggedModel(Message):
    # model_id comes from the path; allow_deleted from the query string
    allow_deleted: str | None = None


class FinalizeLoggedModel(Message):
    model_id: str | None = None
    status: str | int | None = None


class DeleteLoggedModel(Message):
    model_id: str | None = None


class LogLoggedModelParams(Message):
    model_id: str | None = None
    params: list[KeyValue] = []


class SetLoggedModelTags(Message):
    model_id: str | None = None
    tags: list[KeyValue] = []


class SearchDataset(Message):
    dataset_name: str | None = None
    dataset_digest: str | None = None


class SearchOrderBy(Message):
    field_name: str | None = None
    ascending: bool | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


class SearchLoggedModels(Message):
    experiment_ids: list[str] = []
    filter: str | None = None
    datasets: list[SearchDataset] = []
    max_results: int | None = None
    order_by: list[SearchOrderBy] = []
    page_token: str | None = None


class SearchLoggedModelsResponse(Message):
    models: list[LoggedModel] = []
    next_page_token: str | None = None


__all__ = [
    "STATUS_NAMES",
    "CreateLoggedModel",
    "DeleteLoggedModel",
    "FinalizeLoggedModel",
    "GetLoggedModel",
    "LogLoggedModelParams",
    "LoggedModel",
    "LoggedModelData",
    "LoggedModelInfo",
    "LoggedModelResponse",
    "ModelMetric",
    "SearchDataset",
    "SearchLoggedModels",
    "SearchLoggedModelsResponse",
    "SearchOrderBy",
    "SetLoggedModelTags",
]
