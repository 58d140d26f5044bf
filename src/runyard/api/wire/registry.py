"""Model registry messages (service ModelRegistryService, /api/2.0/mlflow/registered-models/*
and /api/2.0/mlflow/model-versions/*). Versions travel as strings, as in MLflow's protos."""

from __future__ import annotations

from runyard.api.wire.base import KeyValue, Message


class ModelVersion(Message):
    name: str
    version: str
    creation_timestamp: int | None = None
    last_updated_timestamp: int | None = None
    user_id: str | None = None
    current_stage: str | None = None
    description: str | None = None
    source: str | None = None
    run_id: str | None = None
    status: str = "READY"
    status_message: str | None = None
    tags: list[KeyValue] = []
    run_link: str | None = None
    aliases: list[str] = []
    # MLflow 3 logged-model link; MLflow's own server leaves it out, the client ignores it.
    model_id: str | None = None


class RegisteredModelAlias(Message):
    alias: str
    version: str


class RegisteredModel(Message):
    name: str
    creation_timestamp: int | None = None
    last_updated_timestamp: int | None = None
    user_id: str | None = None
    description: str | None = None
    latest_versions: list[ModelVersion] = []
    tags: list[KeyValue] = []
    aliases: list[RegisteredModelAlias] = []


# -- registered models -------------------------------------------------------------------


class CreateRegisteredModel(Message):
    name: str | None = None
    tags: list[KeyValue] = []
    description: str | None = None
    deployment_job_id: str | None = None


class RegisteredModelResponse(Message):
    registered_model: RegisteredModel


class GetRegisteredModel(Message):
    name: str | None = None


class RenameRegisteredModel(Message):
    name: str | None = None
    new_name: str | None = None


class UpdateRegisteredModel(Message):
    name: str | None = None
    description: str | None = None
    deployment_job_id: str | None = None


class DeleteRegisteredModel(Message):
    name: str | None = None


class SearchRegisteredModels(Message):
    filter: str | None = None
    max_results: int | None = None
    order_by: list[str] = []
    page_token: str | None = None


class SearchRegisteredModelsResponse(Message):
    registered_models: list[RegisteredModel] = []
    next_page_token: str | None = None


class GetLatestVersions(Message):
    name: str | None = None
    stages: list[str] = []


class ModelVersionsResponse(Message):
    model_versions: list[ModelVersion] = []


class SetRegisteredModelTag(Message):
    name: str | None = None
    key: str | None = None
    value: str | None = None


class DeleteRegisteredModelTag(Message):
    name: str | None = None
    key: str | None = None


class SetRegisteredModelAlias(Message):
    name: str | None = None
    alias: str | None = None
    version: str | None = None


class DeleteRegisteredModelAlias(Message):
    name: str | None = None
    alias: str | None = None


class GetModelVersionByAlias(Message):
    name: str | None = None
    alias: str | None = None


# -- model versions --------------------------------------------------------------------------


class CreateModelVersion(Message):
    name: str | None = None
    source: str | None = None
    run_id: str | None = None
    tags: list[KeyValue] = []
    run_link: str | None = None
    description: str | None = None
    model_id: str | None = None


class ModelVersionResponse(Message):
    model_version: ModelVersion


class ModelVersionRef(Message):
    """get, delete and get-download-uri all name one version and nothing else."""

    name: str | None = None
    version: str | None = None


class UpdateModelVersion(Message):
    name: str | None = None
    version: str | None = None
    description: str | None = None


class TransitionModelVersionStage(Message):
    name: str | None = None
    version: str | None = None
    stage: str | None = None
    archive_existing_versions: bool = False


class GetModelVersionDownloadUriResponse(Message):
    artifact_uri: str


class SearchModelVersions(Message):
    filter: str | None = None
    max_results: int | None = None
    order_by: list[str] = []
    page_token: str | None = None


class SearchModelVersionsResponse(Message):
    model_versions: list[ModelVersion] = []
    next_page_token: str | None = None


class SetModelVersionTag(Message):
    name: str | None = None
    version: str | None = None
    key: str | None = None
    value: str | None = None


class DeleteModelVersionTag(Message):
    name: str | None = None
    version: str | None = None
    key: str | None = None
