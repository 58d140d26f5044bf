"""Experiment messages (service MlflowService, /api/2.0/mlflow/experiments/*)."""

from __future__ import annotations

from runyard.api.wire.base import KeyValue, Message


class Experiment(Message):
    experiment_id: str
    name: str
    artifact_location: str | None = None
    lifecycle_stage: str = "active"
    last_update_time: int | None = None
    creation_time: int | None = None
    tags: list[KeyValue] = []
    # MLflow 3 names the experiment's workspace; without it the client assumes its own
    # active one, which a /w/<name>/ tracking URI does not set.
    workspace: str | None = None


class CreateExperiment(Message):
    name: str
    artifact_location: str | None = None
    tags: list[KeyValue] = []


class CreateExperimentResponse(Message):
    experiment_id: str


class GetExperiment(Message):
    experiment_id: str


class GetExperimentResponse(Message):
    experiment: Experiment


class GetExperimentByName(Message):
    experiment_name: str


class SearchExperiments(Message):
    max_results: int | None = None
    page_token: str | None = None
    filter: str | None = None
    order_by: list[str] = []
    view_type: str | int | None = None


class SearchExperimentsResponse(Message):
    experiments: list[Experiment] = []
    next_page_token: str | None = None


class UpdateExperiment(Message):
    experiment_id: str
    new_name: str | None = None


class DeleteExperiment(Message):
    experiment_id: str


class RestoreExperiment(Message):
    experiment_id: str


class SetExperimentTag(Message):
    experiment_id: str
    key: str
    value: str | None = None


class DeleteExperimentTag(Message):
    experiment_id: str
    key: str
