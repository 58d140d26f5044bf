"""Messages of Runyard's endpoint API (/api/2.0/runyard/endpoints/...), in MLflow's JSON style."""

from __future__ import annotations

from typing import Any

from runyard.api.wire.base import Message


# -- requests -----------------------------------------------------------------------------
class CreateEndpoint(Message):
    name: str | None = None
    description: str | None = None


class UpdateEndpoint(Message):
    description: str | None = None
    # deployment name → whole percent; checked by the service so the message can say why.
    traffic: dict[str, Any] | None = None
    mirror: dict[str, Any] | None = None


class SetTraffic(Message):
    traffic: dict[str, Any] | None = None
    mirror: dict[str, Any] | None = None


class RegenerateKey(Message):
    key_type: str | None = None  # primary (default) | secondary


class CreateDeployment(Message):
    name: str | None = None
    model_uri: str | None = None
    env_manager: str | None = None  # local (default) | virtualenv
    environment: dict[str, Any] | None = None
    wait_seconds: int | None = None  # answer once ready or failed, waiting at most this long


class UpdateDeployment(Message):
    model_uri: str | None = None
    env_manager: str | None = None
    environment: dict[str, Any] | None = None
    wait_seconds: int | None = None


class WaitFor(Message):
    wait_seconds: int | None = None


class GetLogs(Message):
    tail: int | None = None


# -- responses ----------------------------------------------------------------------------
class Deployment(Message):
    name: str
    endpoint: str
    model_uri: str
    model_name: str
    model_version: str
    env_manager: str
    environment_variables: list[str]
    state: str  # starting | ready | failed | restarting | stopped
    message: str | None = None
    restarts: int = 0
    created_by: str | None = None
    creation_time: int | None = None
    last_update_time: int | None = None


class Endpoint(Message):
    name: str
    scoring_uri: str
    traffic: dict[str, int]
    mirror: dict[str, int]
    state: str  # ready | starting | degraded | failed | no_traffic
    deployments: list[Deployment]
    description: str | None = None
    message: str | None = None
    created_by: str | None = None
    creation_time: int | None = None
    last_update_time: int | None = None


class EndpointResponse(Message):
    endpoint: Endpoint


class CreateEndpointResponse(Message):
    endpoint: Endpoint
    primary_key: str
    secondary_key: str


class ListEndpointsResponse(Message):
    endpoints: list[Endpoint]


class DeploymentResponse(Message):
    deployment: Deployment


class ListDeploymentsResponse(Message):
    deployments: list[Deployment]


class KeysResponse(Message):
    primary_key_hint: str
    secondary_key_hint: str
    keys_update_time: int


class RegenerateKeyResponse(Message):
    key_type: str
    key: str


class LogsResponse(Message):
    lines: list[str]


class DeploymentMetrics(Message):
    deployment: str  # "" for requests the router answered itself (no ready deployment, too large)
    mirror: bool  # copies sent to a mirror deployment (their answers were dropped)
    request_count: int
    requests_by_status: dict[str, int]  # "2xx" .. "5xx"
    latency_ms_mean: float | None = None
    latency_ms_p50: float | None = None
    latency_ms_p99: float | None = None


class MetricsResponse(Message):
    endpoint: str
    deployments: list[DeploymentMetrics]
