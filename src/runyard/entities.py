"""Plain data carried between layers. Wire structs live in api/wire; rows live in store/."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Workspace:
    id: int
    name: str
    description: str | None = None
    creation_time: int = 0
    last_update_time: int = 0


DEFAULT_WORKSPACE = "default"
DEFAULT_EXPERIMENT_ID = 0
DEFAULT_EXPERIMENT_NAME = "Default"


@dataclass
class Experiment:
    experiment_id: int
    name: str
    artifact_location: str | None
    lifecycle_stage: str
    creation_time: int | None
    last_update_time: int | None
    tags: dict[str, str | None]


# -- access control ------------------------------------------------------------------------
ROLES = ("reader", "contributor", "owner")  # each includes the rights of the ones before it


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user or a service principal (``kind`` "user" / "service")."""

    id: int
    name: str
    kind: str = "user"
    is_admin: bool = False
    creation_time: int = 0


# The caller when authentication is off: allowed everything, owns nothing.
ANONYMOUS = Principal(0, "anonymous", "user", True)


@dataclass(frozen=True)
class Member:
    principal: str
    kind: str
    role: str
    creation_time: int


@dataclass(frozen=True)
class ServicePrincipal:
    name: str  # short name, unique within its workspace
    principal: str  # the global principal name: "<workspace>/<name>"
    workspace: str
    client_id: str
    role: str | None
    created_by: str
    creation_time: int


@dataclass(frozen=True)
class Token:
    id: str
    name: str
    kind: str  # pat | device | service
    principal: str
    creation_time: int
    expires_at: int
    revoked_time: int | None = None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    time: int
    workspace: str | None
    actor: str
    action: str
    target: str
    details: str | None


# -- runs ----------------------------------------------------------------------------------
@dataclass(slots=True)
class RunInfo:
    run_id: str
    experiment_id: int
    run_name: str | None
    user_id: str | None
    status: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str | None
    lifecycle_stage: str


@dataclass(slots=True)
class DatasetInput:
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None
    profile: str | None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Run:
    info: RunInfo
    # (key, value, timestamp, step) from latest_metrics; value is NaN where is_nan is set.
    metrics: list[tuple[str, float, int, int]] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str | None] = field(default_factory=dict)
    dataset_inputs: list[DatasetInput] = field(default_factory=list)
    model_inputs: list[str] = field(default_factory=list)
    model_outputs: list[tuple[str, int]] = field(default_factory=list)  # (model_id, step)


@dataclass(slots=True)
class RunState:
    """What a write needs to know about a run before touching it."""

    experiment_id: int
    lifecycle_stage: str


# -- the model registry ----------------------------------------------------------------------
@dataclass
class ModelVersion:
    name: str
    version: int
    creation_time: int | None
    last_updated_time: int | None
    description: str | None
    user_id: str | None
    current_stage: str
    source: str | None
    run_id: str | None
    run_link: str | None
    status: str
    status_message: str | None
    storage_location: str | None
    model_id: str | None
    tags: dict[str, str | None] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)


@dataclass
class RegisteredModel:
    name: str
    creation_time: int | None
    last_updated_time: int | None
    description: str | None
    tags: dict[str, str | None] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    latest_versions: list[ModelVersion] = field(default_factory=list)


# -- logged models (MLflow 3) ----------------------------------------------------------------
@dataclass
class ModelMetric:
    key: str
    value: float
    timestamp: int
    step: int
    run_id: str
    model_id: str
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclass
class LoggedModel:
    model_id: str
    experiment_id: int
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: int  # MLflow's LoggedModelStatus.to_int(): 0 unspecified, 1 pending, 2 ready, 3 failed
    lifecycle_stage: str
    model_type: str | None = None
    source_run_id: str | None = None
    status_message: str | None = None
    tags: dict[str, str | None] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[ModelMetric] = field(default_factory=list)


# -- online endpoints ----------------------------------------------------------------------
@dataclass
class Deployment:
    id: int
    workspace_id: int
    endpoint_id: int
    endpoint: str
    name: str
    model_uri: str
    model_name: str
    model_version: int
    env_manager: str
    environment: dict[str, str]
    created_by: str | None
    creation_time: int
    last_update_time: int


@dataclass
class Endpoint:
    id: int
    workspace_id: int
    name: str
    description: str | None
    traffic: dict[str, int]
    mirror: dict[str, int]
    primary_key_hash: str
    primary_key_hint: str
    secondary_key_hash: str
    secondary_key_hint: str
    keys_update_time: int
    created_by: str | None
    creation_time: int
    last_update_time: int
    deployments: list[Deployment] = field(default_factory=list)


# -- batch scoring jobs ----------------------------------------------------------------------
@dataclass(frozen=True)
class BatchJob:
    """A batch scoring job; status is queued, running, succeeded, failed or cancelled."""

    id: str
    workspace_id: int
    model_uri: str
    model_name: str
    model_version: int
    input_path: str
    input_format: str
    output_path: str
    output_format: str
    result_column: str
    master: str
    status: str
    message: str | None
    row_count: int | None
    tasks_total: int | None
    tasks_done: int | None
    created_by: str
    creation_time: int
    start_time: int | None
    end_time: int | None
    runner: str | None
    heartbeat_time: int | None


__all__ = [
    "ANONYMOUS",
    "DEFAULT_EXPERIMENT_ID",
    "DEFAULT_EXPERIMENT_NAME",
    "DEFAULT_WORKSPACE",
    "ROLES",
    "AuditEntry",
    "BatchJob",
    "DatasetInput",
    "Deployment",
    "Endpoint",
    "Experiment",
    "LoggedModel",
    "Member",
    "ModelMetric",
    "ModelVersion",
    "Principal",
    "RegisteredModel",
    "Run",
    "RunInfo",
    "RunState",
    "ServicePrincipal",
    "Token",
    "Workspace",
]
