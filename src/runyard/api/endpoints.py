"""Handlers for /api/2.0/runyard/endpoints/...: endpoints, deployments, traffic, keys, logs, metrics."""

from __future__ import annotations

from urllib.parse import quote

from runyard.api.call import Call
from runyard.api.wire import endpoints as w
from runyard.api.wire.base import Empty
from runyard.entities import Deployment, Endpoint
from runyard.services.endpoints import EndpointService
from runyard.serving.runner import DeploymentStatus

_EP, _DEP = "endpoint", "deployment"


def _svc(call: Call) -> EndpointService:
    return call.services.endpoints


def scoring_uri(call: Call, name: str) -> str:
    base = str(call.request.base_url).rstrip("/")
    return f"{base}/w/{quote(call.workspace.name, safe='')}/endpoints/{quote(name, safe='')}/invocations"


def deployment_to_wire(dep: Deployment, status: DeploymentStatus) -> w.Deployment:
    return w.Deployment(
        name=dep.name,
        endpoint=dep.endpoint,
        model_uri=dep.model_uri,
        model_name=dep.model_name,
        model_version=str(dep.model_version),
        env_manager=dep.env_manager,
        environment_variables=sorted(dep.environment),
        state=status.state,
        message=status.message,
        restarts=status.restarts,
        created_by=dep.created_by,
        creation_time=dep.creation_time,
        last_update_time=dep.last_update_time,
    )


def _state(ep: Endpoint, states: dict[str, DeploymentStatus]) -> tuple[str, str | None]:
    """One word for the endpoint, from the deployments that take its live traffic."""
    live = [name for name, share in ep.traffic.items() if share]
    if not live:
        return "no_traffic", "No deployment takes traffic: set it with `runyard endpoint traffic`."
    failed = [n for n in live if states[n].state == "failed"]
    if failed:
        return "failed", "; ".join(f"deployment '{n}' failed: {states[n].message}" for n in failed)
    if all(states[n].state == "ready" for n in live):
        return "ready", None
    if any(states[n].state == "ready" for n in live):
        return "degraded", None
    return "starting", None


def endpoint_to_wire(call: Call, ep: Endpoint) -> w.Endpoint:
    svc = _svc(call)
    states = {dep.name: svc.status(dep) for dep in ep.deployments}
    state, message = _state(ep, states)
    return w.Endpoint(
        name=ep.name,
        scoring_uri=scoring_uri(call, ep.name),
        traffic=ep.traffic,
        mirror=ep.mirror,
        state=state,
        message=message,
        deployments=[deployment_to_wire(d, states[d.name]) for d in ep.deployments],
        description=ep.description,
        created_by=ep.created_by,
        creation_time=ep.creation_time,
        last_update_time=ep.last_update_time,
    )


# -- endpoints ----------------------------------------------------------------------------
def create(call: Call, req: w.CreateEndpoint) -> w.CreateEndpointResponse:
    ep, keys = _svc(call).create(call.workspace, req.name, req.description, call.user)
    assert keys.primary and keys.secondary
    return w.CreateEndpointResponse(
        endpoint=endpoint_to_wire(call, ep), primary_key=keys.primary, secondary_key=keys.secondary
    )


def get(call: Call, _req: None) -> w.EndpointResponse:
    return w.EndpointResponse(
        endpoint=endpoint_to_wire(call, _svc(call).get(call.workspace, call.path_param(_EP)))
    )


def list_(call: Call, _req: None) -> w.ListEndpointsResponse:
    return w.ListEndpointsResponse(
        endpoints=[endpoint_to_wire(call, ep) for ep in _svc(call).list(call.workspace)]
    )


def update(call: Call, req: w.UpdateEndpoint) -> w.EndpointResponse:
    ep = _svc(call).update(
        call.workspace,
        call.path_param(_EP),
        description=req.description,
        traffic=req.traffic,
        mirror=req.mirror,
    )
    return w.EndpointResponse(endpoint=endpoint_to_wire(call, ep))


def set_traffic(call: Call, req: w.SetTraffic) -> w.EndpointResponse:
    ep = _svc(call).update(call.workspace, call.path_param(_EP), traffic=req.traffic, mirror=req.mirror)
    return w.EndpointResponse(endpoint=endpoint_to_wire(call, ep))


def delete(call: Call, _req: None) -> Empty:
    _svc(call).delete(call.workspace, call.path_param(_EP))
    return Empty()


# -- keys ---------------------------------------------------------------------------------
def get_keys(call: Call, _req: None) -> w.KeysResponse:
    ep = _svc(call).get(call.workspace, call.path_param(_EP))
    return w.KeysResponse(
        primary_key_hint="..." + ep.primary_key_hint,
        secondary_key_hint="..." + ep.secondary_key_hint,
        keys_update_time=ep.keys_update_time,
    )


def regenerate_key(call: Call, req: w.RegenerateKey) -> w.RegenerateKeyResponse:
    key_type = req.key_type or "primary"
    key = _svc(call).regenerate_key(call.workspace, call.path_param(_EP), key_type)
    return w.RegenerateKeyResponse(key_type=key_type, key=key)


# -- deployments --------------------------------------------------------------------------
def create_deployment(call: Call, req: w.CreateDeployment) -> w.DeploymentResponse:
    svc = _svc(call)
    dep = svc.create_deployment(
        call.workspace,
        call.path_param(_EP),
        req.name,
        req.model_uri,
        req.env_manager,
        req.environment,
        call.user,
    )
    return w.DeploymentResponse(deployment=deployment_to_wire(dep, svc.wait(dep, req.wait_seconds)))


def get_deployment(call: Call, req: w.WaitFor) -> w.DeploymentResponse:
    svc = _svc(call)
    dep = svc.get_deployment(call.workspace, call.path_param(_EP), call.path_param(_DEP))
    return w.DeploymentResponse(deployment=deployment_to_wire(dep, svc.wait(dep, req.wait_seconds)))


def list_deployments(call: Call, _req: None) -> w.ListDeploymentsResponse:
    svc = _svc(call)
    ep = svc.get(call.workspace, call.path_param(_EP))
    return w.ListDeploymentsResponse(
        deployments=[deployment_to_wire(d, svc.status(d)) for d in ep.deployments]
    )


def update_deployment(call: Call, req: w.UpdateDeployment) -> w.DeploymentResponse:
    svc = _svc(call)
    dep = svc.update_deployment(
        call.workspace,
        call.path_param(_EP),
        call.path_param(_DEP),
        req.model_uri,
        req.env_manager,
        req.environment,
    )
    return w.DeploymentResponse(deployment=deployment_to_wire(dep, svc.wait(dep, req.wait_seconds)))


def delete_deployment(call: Call, _req: None) -> Empty:
    _svc(call).delete_deployment(call.workspace, call.path_param(_EP), call.path_param(_DEP))
    return Empty()


def logs(call: Call, req: w.GetLogs) -> w.LogsResponse:
    lines = _svc(call).logs(call.workspace, call.path_param(_EP), call.path_param(_DEP), req.tail)
    return w.LogsResponse(lines=lines)


def metrics(call: Call, _req: None) -> w.MetricsResponse:
    ep = _svc(call).get(call.workspace, call.path_param(_EP))
    rows = _svc(call).metrics_snapshot(call.workspace, ep)
    return w.MetricsResponse(
        endpoint=ep.name,
        deployments=[
            w.DeploymentMetrics(
                deployment=row["deployment"],
                mirror=row["mirror"],
                request_count=row["request_count"],
                requests_by_status=row["requests_by_status"],
                latency_ms_mean=row["latency_ms_mean"],
                latency_ms_p50=row["latency_ms_p50"],
                latency_ms_p99=row["latency_ms_p99"],
            )
            for row in rows
        ],
    )
