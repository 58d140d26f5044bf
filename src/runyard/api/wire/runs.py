"""Run and metric messages (service MlflowService, /api/2.0/mlflow/runs/* and metrics/*).

Field names follow MLflow's service.proto. Request fields are optional here so that a
missing one gets MLflow's "Missing value for required parameter" message from the service.
"""

from __future__ import annotations

from runyard.api.wire.base import KeyValue, Message

# -- entities (responses) ------------------------------------------------------------------


class Metric(Message):
    key: str
    value: float | str  # NaN / Infinity / -Infinity travel as strings
    timestamp: int
    step: int


class MetricWithRunId(Message):
    key: str
    value: float | str
    timestamp: int
    step: int
    run_id: str


class RunInfo(Message):
    run_id: str
    run_uuid: str
    experiment_id: str
    status: str
    lifecycle_stage: str
    run_name: str | None = None
    user_id: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    artifact_uri: str | None = None


class RunData(Message):
    metrics: list[Metric] = []
    params: list[KeyValue] = []
    tags: list[KeyValue] = []


class Dataset(Message):
    name: str | None = None
    digest: str | None = None
    source_type: str | None = None
    source: str | None = None
    schema: str | None = None
    profile: str | None = None


class DatasetInput(Message):
    tags: list[KeyValue] = []
    dataset: Dataset | None = None


class ModelInput(Message):
    model_id: str | None = None


class ModelOutput(Message):
    model_id: str | None = None
    step: int | None = None


class RunInputs(Message):
    dataset_inputs: list[DatasetInput] = []
    model_inputs: list[ModelInput] = []


class RunOutputs(Message):
    model_outputs: list[ModelOutput] = []


class Run(Message):
    info: RunInfo
    data: RunData
    inputs: RunInputs
    outputs: RunOutputs


# -- run lifecycle -------------------------------------------------------------------------


class CreateRun(Message):
    experiment_id: str | int | None = None
    user_id: str | None = None
    run_name: str | None = None
    start_time: int | None = None
    tags: list[KeyValue] = []


class CreateRunResponse(Message):
    run: Run


class UpdateRun(Message):
    run_id: str | None = None
    run_uuid: str | None = None
    status: str | int | None = None
    end_time: int | None = None
    run_name: str | None = None


class UpdateRunResponse(Message):
    run_info: RunInfo


class RunId(Message):
    """DeleteRun, RestoreRun."""

    run_id: str | None = None


class GetRun(Message):
    run_id: str | None = None
    run_uuid: str | None = None


class GetRunResponse(Message):
    run: Run


class SearchRuns(Message):
    experiment_ids: list[str | int] = []
    filter: str | None = None
    run_view_type: str | int | None = None
    max_results: int | None = None
    order_by: list[str] = []
    page_token: str | None = None


class SearchRunsResponse(Message):
    runs: list[Run] = []
    next_page_token: str | None = None


# -- logging -------------------------------------------------------------------------------


class LogMetric(Message):
    run_id: str | None = None
    run_uuid: str | None = None
    key: str | None = None
    value: float | None = None
    timestamp: int | None = None
    step: int | None = None
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


class LogParam(Message):
    run_id: str | None = None
    run_uuid: str | None = None
    key: str | None = None
    value: str | None = None


class SetTag(Message):
    run_id: str | None = None
    run_uuid: str | None = None
    key: str | None = None
    value: str | None = None


class DeleteTag(Message):
    run_id: str | None = None
    key: str | None = None


class BatchMetric(Message):
    key: str | None = None
    value: float | None = None
    timestamp: int | None = None
    step: int | None = None
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None
    run_id: str | None = None


class BatchKeyValue(Message):
    key: str | None = None
    value: str | None = None


class LogBatch(Message):
    run_id: str | None = None
    metrics: list[BatchMetric] = []
    params: list[BatchKeyValue] = []
    tags: list[BatchKeyValue] = []


class InputTag(Message):
    key: str | None = None
    value: str | None = None


class DatasetInputIn(Message):
    tags: list[InputTag] = []
    dataset: Dataset | None = None


class LogInputs(Message):
    run_id: str | None = None
    datasets: list[DatasetInputIn] = []
    models: list[ModelInput] = []


class LogOutputs(Message):
    run_id: str | None = None
    models: list[ModelOutput] | None = None


class LogModel(Message):
    run_id: str | None = None
    model_json: str | None = None


# -- metric history ------------------------------------------------------------------------


class GetMetricHistory(Message):
    run_id: str | None = None
    run_uuid: str | None = None
    metric_key: str | None = None
    page_token: str | None = None
    max_results: int | None = None


class GetMetricHistoryResponse(Message):
    metrics: list[Metric] = []
    next_page_token: str | None = None


class GetMetricHistoryBulkInterval(Message):
    run_ids: list[str] = []
    metric_key: str | None = None
    start_step: int | None = None
    end_step: int | None = None
    max_results: int | None = None


class GetMetricHistoryBulk(Message):
    """The UI's ``ajax-api/2.0/mlflow/metrics/get-history-bulk`` (query: repeated run_id)."""

    run_id: list[str] = []
    metric_key: str | None = None
    max_results: int | None = None


class MetricsWithRunIdResponse(Message):
    metrics: list[MetricWithRunId] = []
