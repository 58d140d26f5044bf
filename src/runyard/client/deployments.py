"""MLflow deployments plugin for Runyard endpoints (entry point ``mlflow.deployments``: ``runyard``).

``mlflow.deployments.get_deploy_client("runyard://HOST:PORT/w/<workspace>")`` manages the
workspace's online endpoints and deployments and scores them; ``mlflow deployments ... -t
runyard://...`` does the same on the command line. Credentials are found as the auth plugin
finds them (``MLFLOW_TRACKING_TOKEN``, a service principal, ``RUNYARD_TOKEN``, ``runyard login``).
Only the client side is imported: mlflow, requests and ``runyard.client``.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote, urlparse

import requests
from mlflow.deployments import BaseDeploymentClient, PredictionsResponse
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import ErrorCode

from runyard.client.auth import bearer_token

_R = "/api/2.0/runyard/endpoints"
# create/update block until the deployment is ready or has failed, as MLflow expects.
DEFAULT_WAIT_S = 300
_ENV_URI = "MLFLOW_TRACKING_URI"


def target_help() -> str:
    return """\
Runyard online endpoints: each endpoint splits its traffic over
deployments, each running one registered model version.

Target URI: runyard://HOST:PORT/w/WORKSPACE  (plain `runyard` uses MLFLOW_TRACKING_URI).
Credentials: MLFLOW_TRACKING_TOKEN, RUNYARD_CLIENT_ID + RUNYARD_CLIENT_SECRET, RUNYARD_TOKEN,
or the cache of `runyard login`.

create_deployment / update_deployment config:
  env_manager    local (Runyard's Python, default) or virtualenv (built from the model's requirements)
  environment    extra environment variables for the scoring process (dict or JSON text)
  wait_seconds   how long to wait for the deployment to become ready (default 300; 0: do not wait)
A deployment created without an endpoint gets an endpoint of its own name.

create_endpoint / update_endpoint config:
  description    free text
  traffic        deployment -> percent, adding up to 100: {"blue": 90, "green": 10} or blue=90,green=10
  mirror         deployment -> percent of live requests copied to it (answers dropped)

predict(deployment_name, inputs, endpoint): inputs is a pandas DataFrame, a dict in one of
MLflow's scoring formats, a list or a numpy array; naming a deployment pins the request to it.
"""


def run_local(target: str, name: str, model_uri: str, flavor: str | None = None, config: dict | None = None):
    raise MlflowException(
        "Runyard does not run deployments locally from the client: create an endpoint on a Runyard server "
        "(`runyard server` on this machine works), or use `mlflow models serve -m MODEL_URI`."
    )


def _parse_target(target_uri: str) -> tuple[str, str | None]:
    """``runyard://host:5000/w/team`` → ("http://host:5000", "team")."""
    parsed = urlparse(target_uri)
    if parsed.scheme == "runyard" and parsed.netloc:
        base, path = f"http://{parsed.netloc}", parsed.path
    else:
        tracking = os.environ.get(_ENV_URI, "")
        if not tracking.startswith(("http://", "https://")):
            raise MlflowException(
                f"Invalid Runyard target '{target_uri}': use runyard://HOST:PORT/w/WORKSPACE, or set "
                f"{_ENV_URI} to the Runyard server (http://HOST:PORT/w/WORKSPACE)."
            )
        t = urlparse(tracking)
        base, path = f"{t.scheme}://{t.netloc}", t.path
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "w":
        return base, parts[1]
    if parts:
        raise MlflowException(f"Invalid Runyard target '{target_uri}': the path must be /w/WORKSPACE.")
    return base, None


def _shares(value: Any, what: str) -> dict[str, int] | None:
    """A traffic map from Python, JSON text or ``blue=90,green=10`` (the CLI gives text)."""
    if value is None or isinstance(value, dict):
        return value
    text = str(value).strip()
    if text.startswith("{"):
        return json.loads(text)
    out: dict[str, int] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, sep, share = item.partition("=")
        if not sep or not share.strip().isdigit():
            raise MlflowException(f"Invalid {what} '{text}': use name=percent pairs, e.g. blue=90,green=10.")
        out[name.strip()] = int(share)
    return out


def _mapping(value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    return json.loads(str(value))


def _payload(inputs: Any) -> tuple[bytes, str]:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - mlflow brings pandas
        pd = None  # type: ignore[assignment]
    if pd is not None and isinstance(inputs, pd.DataFrame):
        return b'{"dataframe_split": ' + inputs.to_json(orient="split").encode() + b"}", "application/json"
    if isinstance(inputs, (str, bytes)):
        return (inputs.encode() if isinstance(inputs, str) else inputs), "application/json"
    if hasattr(inputs, "tolist"):  # numpy arrays
        inputs = {"inputs": inputs.tolist()}
    elif isinstance(inputs, list):
        inputs = {"inputs": inputs}
    return json.dumps(inputs).encode(), "application/json"


class RunyardDeploymentClient(BaseDeploymentClient):
    """Endpoints and deployments of one Runyard workspace, through Runyard's endpoint API."""

    def __init__(self, target_uri: str) -> None:
        super().__init__(target_uri)
        self.server, self.workspace = _parse_target(target_uri)
        self._session = requests.Session()

    # -- HTTP -----------------------------------------------------------------------------
    def _prefix(self) -> str:
        return self.server + (f"/w/{quote(self.workspace, safe='')}" if self.workspace else "")

    def _headers(self) -> dict[str, str]:
        token = os.environ.get("MLFLOW_TRACKING_TOKEN") or bearer_token(self.server)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, **params: Any) -> dict:
        url = self._prefix() + path
        try:
            resp = self._session.request(
                method,
                url,
                json=body,
                params=params or None,
                headers=self._headers(),
                timeout=DEFAULT_WAIT_S + 60,
            )
        except requests.RequestException as exc:
            raise MlflowException(f"Cannot reach the Runyard server at {self.server}: {exc}") from None
        return _answer(resp, url)

    @staticmethod
    def _ep(name: str) -> str:
        return f"{_R}/{quote(name, safe='')}"

    # -- endpoints ------------------------------------------------------------------------
    def create_endpoint(self, name: str, config: dict | None = None) -> dict:
        config = dict(config or {})
        body = self._call("POST", _R, {"name": name, "description": config.get("description")})
        endpoint = body["endpoint"]
        endpoint["primary_key"], endpoint["secondary_key"] = body["primary_key"], body["secondary_key"]
        if config.get("traffic") or config.get("mirror"):
            return self.update_endpoint(name, {k: config[k] for k in ("traffic", "mirror") if k in config})
        return endpoint

    def update_endpoint(self, endpoint: str, config: dict | None = None) -> dict:
        config = dict(config or {})
        body = {
            "description": config.get("description"),
            "traffic": _shares(config.get("traffic"), "traffic"),
            "mirror": _shares(config.get("mirror"), "mirror"),
        }
        return self._call("PATCH", self._ep(endpoint), {k: v for k, v in body.items() if v is not None})[
            "endpoint"
        ]

    def delete_endpoint(self, endpoint: str) -> None:
        _ignore_missing(lambda: self._call("DELETE", self._ep(endpoint)))

    def list_endpoints(self) -> list[dict]:
        return self._call("GET", _R).get("endpoints", [])

    def get_endpoint(self, endpoint: str) -> dict:
        return self._call("GET", self._ep(endpoint))["endpoint"]

    # -- deployments ----------------------------------------------------------------------
    def create_deployment(
        self, name: str, model_uri: str, flavor: str | None = None, config: dict | None = None, endpoint=None
    ) -> dict:
        _no_flavor(flavor)
        config = dict(config or {})
        if endpoint is None:
            endpoint = name
            if _ignore_missing(lambda: self.get_endpoint(name)) is None:
                self.create_endpoint(name)
        body = {"name": name, "model_uri": model_uri, **self._deployment_config(config)}
        return self._call("POST", f"{self._ep(endpoint)}/deployments", body)["deployment"]

    def update_deployment(
        self, name: str, model_uri=None, flavor=None, config: dict | None = None, endpoint=None
    ) -> dict:
        _no_flavor(flavor)
        endpoint = endpoint or self._endpoint_of(name)
        body = {"model_uri": model_uri, **self._deployment_config(dict(config or {}))}
        body = {k: v for k, v in body.items() if v is not None}
        return self._call("PATCH", f"{self._ep(endpoint)}/deployments/{quote(name, safe='')}", body)[
            "deployment"
        ]

    def delete_deployment(self, name: str, config: dict | None = None, endpoint=None) -> None:
        try:
            endpoint = endpoint or self._endpoint_of(name)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return
            raise
        _ignore_missing(
            lambda: self._call("DELETE", f"{self._ep(endpoint)}/deployments/{quote(name, safe='')}")
        )

    def list_deployments(self, endpoint=None) -> list[dict]:
        if endpoint is not None:
            return self._call("GET", f"{self._ep(endpoint)}/deployments").get("deployments", [])
        return [dep for ep in self.list_endpoints() for dep in ep.get("deployments", [])]

    def get_deployment(self, name: str, endpoint=None) -> dict:
        endpoint = endpoint or self._endpoint_of(name)
        return self._call("GET", f"{self._ep(endpoint)}/deployments/{quote(name, safe='')}")["deployment"]

    def _endpoint_of(self, deployment: str) -> str:
        """The endpoint holding ``deployment`` when the caller did not say (it must be unique)."""
        found = [
            ep["name"]
            for ep in self.list_endpoints()
            if any(d["name"] == deployment for d in ep["deployments"])
        ]
        if len(found) == 1:
            return found[0]
        if not found:
            raise _error(
                f"No deployment '{deployment}' in workspace '{self.workspace or 'default'}'.",
                "RESOURCE_DOES_NOT_EXIST",
            )
        raise _error(
            f"Deployment '{deployment}' exists in several endpoints ({', '.join(found)}): name the endpoint.",
            "INVALID_PARAMETER_VALUE",
        )

    @staticmethod
    def _deployment_config(config: dict) -> dict[str, Any]:
        wait = config.get("wait_seconds", DEFAULT_WAIT_S)
        return {
            "env_manager": config.get("env_manager"),
            "environment": _mapping(config.get("environment")),
            "wait_seconds": int(wait),
        }

    # -- scoring --------------------------------------------------------------------------
    def predict(self, deployment_name=None, inputs=None, endpoint=None) -> PredictionsResponse:
        pin = deployment_name
        if endpoint is None:
            if deployment_name is None:
                raise MlflowException("Name an endpoint or a deployment to predict with.")
            try:
                endpoint = self._endpoint_of(deployment_name)
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                    raise
                endpoint, pin = deployment_name, None  # an endpoint named like the deployment
        data, content_type = _payload(inputs)
        headers = {**self._headers(), "Content-Type": content_type}
        if pin:
            headers["X-Runyard-Deployment"] = pin
        url = f"{self._prefix()}/endpoints/{quote(endpoint, safe='')}/invocations"
        try:
            resp = self._session.post(url, data=data, headers=headers, timeout=DEFAULT_WAIT_S)
        except requests.RequestException as exc:
            raise MlflowException(f"Cannot reach the Runyard server at {self.server}: {exc}") from None
        _answer(resp, url)
        return PredictionsResponse.from_json(resp.text)


def _error(message: str, code: str = "INTERNAL_ERROR") -> MlflowException:
    """MlflowException takes the numeric code; the server sends its name."""
    try:
        number = ErrorCode.Value(code)
    except ValueError:
        number = ErrorCode.Value("INTERNAL_ERROR")
    return MlflowException(message, error_code=number)


def _answer(resp: requests.Response, url: str) -> dict:
    try:
        body = resp.json() if resp.content else {}
    except ValueError:
        body = None
    if resp.status_code >= 400 or not isinstance(body, dict):
        code = body.get("error_code") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else None
        raise _error(
            message or f"Unexpected answer from {url} (HTTP {resp.status_code}): {resp.text[:200]!r}",
            code or "INTERNAL_ERROR",
        )
    return body


def _ignore_missing(fn):  # noqa: ANN001, ANN202 - a tiny local helper
    try:
        return fn()
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise


def _no_flavor(flavor: str | None) -> None:
    if flavor not in (None, "python_function"):
        raise _error(
            f"Runyard deploys models as python_function; flavor '{flavor}' is not supported.",
            "INVALID_PARAMETER_VALUE",
        )


__all__ = ["RunyardDeploymentClient", "run_local", "target_help"]
