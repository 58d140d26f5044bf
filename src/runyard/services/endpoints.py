"""Online endpoints: validation, deployments of registered model versions, traffic, keys.

The database holds what should run; the runner (serving/runner.py) runs it. Every change
is written first and then handed to the runner, and on start every stored deployment is
handed to it again, so deployments survive a server restart without a manual step.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy.exc import IntegrityError

from runyard.config import Settings
from runyard.entities import Deployment, Endpoint, Workspace
from runyard.errors import AlreadyExists, InvalidParameter, InvalidState
from runyard.services import audit
from runyard.services.artifacts import ArtifactService
from runyard.services.audit import current_actor
from runyard.services.clock import now_ms
from runyard.services.endpoint_rules import (
    KEY_TYPES,
    NAME,
    check_env_manager,
    check_environment,
    check_name,
    check_traffic,
    deployment_not_found,
    endpoint_not_found,
    hash_key,
    new_key,
)
from runyard.services.model_files import ModelFiles
from runyard.services.model_versions import ModelVersionService
from runyard.services.registry import RegistryService
from runyard.serving.metrics import ServingMetrics
from runyard.serving.runner import STOPPED, DeploymentSpec, DeploymentStatus, LocalProcessRunner, Runner
from runyard.store.sql import endpoints as sql
from runyard.store.sql.engine import Database

log = logging.getLogger("runyard.endpoints")
T = TypeVar("T")

MAX_WAIT_S = 600
# How long a cached endpoint (traffic, key hashes) may serve scoring requests on this replica
# after a change made elsewhere; changes made here are seen at once.
_ROUTE_TTL_S = 1.0


@dataclass(frozen=True)
class NewKeys:
    primary: str | None
    secondary: str | None


class EndpointService:
    def __init__(
        self,
        db: Database,
        files: ModelFiles,
        runner_factory: Callable[[], Runner],
        metrics: ServingMetrics,
        *,
        single_process: bool = True,
    ) -> None:
        self._db = db
        self.files = files
        self._runner_factory = runner_factory
        self._runner: Runner | None = None
        self._lock = threading.Lock()
        self._routes: dict[tuple[int, str], tuple[float, Endpoint | None]] = {}
        self._deployed: set[str] = set()  # keys handed to the runner by this process
        self._stop = threading.Event()
        self._single_process = single_process
        self.metrics = metrics

    # -- the runner ------------------------------------------------------------------------
    @property
    def runner(self) -> Runner:
        """Built on first use, so an app that never serves never starts a process."""
        if self._runner is None:
            with self._lock:
                if self._runner is None:
                    self._runner = self._runner_factory()
        return self._runner

    @staticmethod
    def key(dep: Deployment) -> str:
        return f"{dep.workspace_id}.{dep.endpoint}.{dep.name}"

    def status(self, dep: Deployment) -> DeploymentStatus:
        if self._runner is None:  # nothing was deployed by this process yet
            return STOPPED
        return self._runner.status(self.key(dep))

    def _deploy(self, dep: Deployment, path: Path) -> None:
        spec = DeploymentSpec(
            key=self.key(dep), model_path=path, env_manager=dep.env_manager, environment=dep.environment
        )
        self._check_single_process()
        self.runner.deploy(spec)
        self._deployed.add(spec.key)

    def _check_single_process(self) -> None:
        if not self._single_process:
            raise InvalidState(
                "Online endpoints need a single server process: restart the server with --workers 1 "
                "(scale out with more machines behind a load balancer instead)."
            )

    def _recorded_path(self, ws: Workspace, dep: Deployment) -> Path:
        return self.files.recorded_path(ws, dep.model_name, dep.model_version, dep.model_uri)

    def reconcile(self) -> int:
        """Make the runner run exactly the stored deployments; return how many are stored.

        Called on start (deployments survive a restart) and then periodically, so that a
        change made through another replica reaches this one's scoring processes too.
        """
        with self._db.read() as conn:
            eps = sql.all_endpoints(conn)
        wanted: set[str] = set()
        for ws, ep in eps:
            for dep in ep.deployments:
                wanted.add(self.key(dep))
                try:
                    self._deploy(dep, self._recorded_path(ws, dep))
                except Exception:  # noqa: BLE001 - one broken deployment must not stop the others
                    log.exception("could not deploy %s", self.key(dep))
        for key in self._deployed - wanted:
            self.runner.remove(key)
            self._deployed.discard(key)
        return len(wanted)

    def start(self, interval_s: float = 10.0) -> None:
        """Reconcile now and every ``interval_s`` in a background thread, until close()."""
        if not self._single_process:
            log.warning(
                "Online endpoints are not served with --workers > 1: run one process per machine "
                "(add machines behind a load balancer to scale out)."
            )
            return

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.reconcile()
                except Exception:  # noqa: BLE001 - e.g. the database is briefly unreachable
                    log.exception("reconciling deployments failed; retrying in %.0f s", interval_s)
                self._stop.wait(interval_s)

        threading.Thread(target=loop, name="runyard-endpoints", daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        if self._runner is not None:
            self._runner.close()

    def _write(
        self, ws: Workspace, action: str, target: str, details: dict[str, Any] | None, fn: Callable[[Any], T]
    ) -> T:
        """Run ``fn`` in a write transaction that also records the change in the audit log."""
        actor = current_actor.get()  # read here: on SQLite the transaction runs in another thread

        def tx(conn: Any) -> T:
            result = fn(conn)
            audit.record(conn, ws.id, action, target, details, actor=actor)
            return result

        return self._db.write(tx)

    # -- endpoints -------------------------------------------------------------------------
    def get(self, ws: Workspace, name: str | None) -> Endpoint:
        name = name or ""
        if not NAME.match(name):  # cannot exist: no need to ask the database (or send it a NUL)
            raise endpoint_not_found(name, ws)
        with self._db.read() as conn:
            ep = sql.get_endpoint(conn, ws.id, name)
        if ep is None:
            raise endpoint_not_found(name, ws)
        return ep

    def list(self, ws: Workspace) -> list[Endpoint]:
        with self._db.read() as conn:
            return sql.list_endpoints(conn, ws.id)

    def create(
        self, ws: Workspace, name: str | None, description: str | None, user: str | None
    ) -> tuple[Endpoint, NewKeys]:
        name = check_name(name, "endpoint")
        (primary, p_hash, p_hint), (secondary, s_hash, s_hint) = new_key(), new_key()
        now = now_ms()

        def tx(conn) -> None:
            if sql.get_endpoint(conn, ws.id, name) is not None:
                raise AlreadyExists(f"Endpoint '{name}' already exists in workspace '{ws.name}'.")
            sql.insert_endpoint(conn, ws.id, name, description, (p_hash, p_hint, s_hash, s_hint), user, now)

        try:
            self._write(ws, "endpoint.create", name, None, tx)
        except IntegrityError:
            raise AlreadyExists(f"Endpoint '{name}' already exists in workspace '{ws.name}'.") from None
        return self.get(ws, name), NewKeys(primary, secondary)

    def update(
        self,
        ws: Workspace,
        name: str | None,
        *,
        description: str | None = None,
        traffic: Mapping[str, object] | None = None,
        mirror: Mapping[str, object] | None = None,
    ) -> Endpoint:
        ep = self.get(ws, name)
        routing = traffic is not None or mirror is not None

        def shares(current: Endpoint) -> dict[str, object]:
            live, copies = check_traffic(
                current.traffic if traffic is None else traffic,
                current.mirror if mirror is None else mirror,
                {d.name for d in current.deployments},
                current.name,
            )
            return {"traffic": live, "mirror": copies}

        if routing:
            shares(ep)  # refuse bad input before any write
        values: dict[str, object] = {} if description is None else {"description": description}

        def tx(conn: Any) -> None:
            if routing:  # again against the deployments as they are now, inside the transaction
                current = sql.get_endpoint(conn, ws.id, ep.name)
                if current is None:
                    raise endpoint_not_found(ep.name, ws)
                values.update(shares(current))
            sql.update_endpoint(conn, ws.id, ep.name, now_ms(), **values)

        if routing or values:
            details = {"traffic": traffic, "mirror": mirror} if routing else None
            self._write(ws, "endpoint.update", ep.name, details, tx)
            self._forget(ws, ep.name)
        return self.get(ws, ep.name)

    def delete(self, ws: Workspace, name: str | None) -> None:
        ep = self.get(ws, name)
        self._write(
            ws, "endpoint.delete", ep.name, None, lambda conn: sql.delete_endpoint(conn, ws.id, ep.id)
        )
        self._forget(ws, ep.name)
        self.metrics.forget(workspace=ws.name, endpoint=ep.name)
        for dep in ep.deployments:
            self.runner.remove(self.key(dep))
            self._deployed.discard(self.key(dep))

    def regenerate_key(self, ws: Workspace, name: str | None, key_type: str | None) -> str:
        key_type = key_type or "primary"
        if key_type not in KEY_TYPES:
            raise InvalidParameter(f"Invalid key_type '{key_type}': use primary or secondary.")
        ep = self.get(ws, name)
        key, digest, hint = new_key()
        now = now_ms()
        values = {f"{key_type}_key_hash": digest, f"{key_type}_key_hint": hint, "keys_update_time": now}
        self._write(
            ws,
            "endpoint.regenerate_key",
            ep.name,
            {"key_type": key_type},
            lambda conn: sql.update_endpoint(conn, ws.id, ep.name, now, **values),
        )
        self._forget(ws, ep.name)
        return key

    # -- deployments -----------------------------------------------------------------------
    def get_deployment(self, ws: Workspace, endpoint: str | None, name: str | None) -> Deployment:
        ep = self.get(ws, endpoint)
        for dep in ep.deployments:
            if dep.name == name:
                return dep
        raise deployment_not_found(ep.name, name or "")

    def create_deployment(
        self,
        ws: Workspace,
        endpoint: str | None,
        name: str | None,
        model_uri: str | None,
        env_manager: str | None,
        environment: Mapping[str, object] | None,
        user: str | None,
    ) -> Deployment:
        ep = self.get(ws, endpoint)
        name = check_name(name, "deployment")
        if any(d.name == name for d in ep.deployments):
            raise AlreadyExists(f"Deployment '{name}' already exists in endpoint '{ep.name}'.")
        manager, env = check_env_manager(env_manager), check_environment(environment)
        model = self.files.resolve(ws, model_uri)
        path = self.files.fetch(ws, model)  # before the row exists: a bad model leaves nothing behind
        now = now_ms()

        def tx(conn) -> None:
            current = sql.get_endpoint(conn, ws.id, ep.name)
            if current is None:
                raise endpoint_not_found(ep.name, ws)
            sql.insert_deployment(
                conn, ws.id, current.id, name, (model.uri, model.name, model.version), manager, env, user, now
            )
            if not current.traffic:  # the first deployment of an endpoint takes all its traffic
                sql.update_endpoint(conn, ws.id, ep.name, now, traffic={name: 100})

        try:
            self._write(ws, "deployment.create", f"{ep.name}/{name}", {"model_uri": model.uri}, tx)
        except IntegrityError:
            raise AlreadyExists(f"Deployment '{name}' already exists in endpoint '{ep.name}'.") from None
        self._forget(ws, ep.name)
        dep = self.get_deployment(ws, ep.name, name)
        self._deploy(dep, path)
        return dep

    def update_deployment(
        self,
        ws: Workspace,
        endpoint: str | None,
        name: str | None,
        model_uri: str | None,
        env_manager: str | None,
        environment: Mapping[str, object] | None,
    ) -> Deployment:
        dep = self.get_deployment(ws, endpoint, name)
        values: dict[str, object] = {}
        if env_manager is not None:
            values["env_manager"] = check_env_manager(env_manager)
        if environment is not None:
            values["environment"] = check_environment(environment)
        if model_uri:
            model = self.files.resolve(ws, model_uri)
            values.update(model_uri=model.uri, model_name=model.name, model_version=model.version)
            path = self.files.fetch(ws, model)
        else:
            path = self._recorded_path(ws, dep)
        if values:
            self._write(
                ws,
                "deployment.update",
                f"{dep.endpoint}/{dep.name}",
                {k: v for k, v in values.items() if k != "environment"},
                lambda conn: sql.update_deployment(
                    conn, ws.id, dep.endpoint_id, dep.name, now_ms(), **values
                ),
            )
        dep = self.get_deployment(ws, dep.endpoint, dep.name)
        self._deploy(dep, path)
        return dep

    def delete_deployment(self, ws: Workspace, endpoint: str | None, name: str | None) -> None:
        dep = self.get_deployment(ws, endpoint, name)

        def tx(conn: Any) -> None:
            # Checked in the deleting transaction, so a concurrent traffic change cannot slip in.
            ep = sql.get_endpoint(conn, ws.id, dep.endpoint)
            if ep is None:
                raise endpoint_not_found(dep.endpoint, ws)
            if ep.traffic.get(dep.name) or ep.mirror.get(dep.name):
                raise InvalidState(
                    f"Deployment '{dep.name}' still takes traffic of endpoint '{ep.name}' (traffic "
                    f"{ep.traffic.get(dep.name, 0)}%, mirror {ep.mirror.get(dep.name, 0)}%). Move its "
                    f"traffic to another deployment first: `runyard endpoint traffic {ep.name} other=100`."
                )
            sql.delete_deployment(conn, ws.id, dep.endpoint_id, dep.name)

        self._write(ws, "deployment.delete", f"{dep.endpoint}/{dep.name}", None, tx)
        self._forget(ws, dep.endpoint)
        self.metrics.forget(workspace=ws.name, endpoint=dep.endpoint, deployment=dep.name)
        self.runner.remove(self.key(dep))
        self._deployed.discard(self.key(dep))

    def logs(self, ws: Workspace, endpoint: str | None, name: str | None, tail: int | None) -> list[str]:
        tail = 200 if tail is None else tail
        if not 1 <= tail <= 10_000:
            raise InvalidParameter(f"Invalid tail {tail}: ask for 1 to 10000 lines.")
        return self.runner.logs(self.key(self.get_deployment(ws, endpoint, name)), tail)

    def wait(self, dep: Deployment, seconds: int | None) -> DeploymentStatus:
        """Wait until the deployment is ready or has failed, at most ``seconds``."""
        seconds = seconds or 0
        if not 0 <= seconds <= MAX_WAIT_S:
            raise InvalidParameter(f"Invalid wait_seconds {seconds}: wait 0 to {MAX_WAIT_S} seconds.")
        deadline = time.monotonic() + seconds
        while True:
            status = self.status(dep)
            if status.state in ("ready", "failed") or time.monotonic() >= deadline:
                return status
            time.sleep(0.1)

    # -- what the scoring path needs, cached briefly ---------------------------------------
    def peek(self, ws: Workspace, name: str) -> Endpoint | Literal[False] | None:
        """The cached endpoint (None: cached as missing), or False when a read is needed."""
        hit = self._routes.get((ws.id, name))
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return False

    def cached(self, ws: Workspace, name: str) -> Endpoint | None:
        hit = self.peek(ws, name)
        if hit is not False:
            return hit
        if not NAME.match(name):
            return None
        now = time.monotonic()
        with self._db.read() as conn:
            ep = sql.get_endpoint(conn, ws.id, name)
        if len(self._routes) > 10_000:
            self._routes.clear()
        self._routes[(ws.id, name)] = (now + _ROUTE_TTL_S, ep)
        return ep

    def upstreams(self, ep: Endpoint) -> dict[str, str]:
        """Deployment name → URL of its scoring process, for the ready ones."""
        out = {}
        for dep in ep.deployments:
            st = self.status(dep)
            if st.state == "ready" and st.url:
                out[dep.name] = st.url
        return out

    def metrics_snapshot(self, ws: Workspace, ep: Endpoint) -> list[dict[str, object]]:
        """Request counts and latencies of each deployment of ``ep`` on this replica since it started."""
        return self.metrics.snapshot(workspace=ws.name, endpoint=ep.name)["deployments"]

    def _forget(self, ws: Workspace, name: str) -> None:
        self._routes.pop((ws.id, name), None)

    @staticmethod
    def key_matches(ep: Endpoint, presented: str) -> bool:
        digest = hash_key(presented)
        # Both comparisons always run: timing says nothing about which key matched.
        first = hmac.compare_digest(digest, ep.primary_key_hash)
        second = hmac.compare_digest(digest, ep.secondary_key_hash)
        return first or second


def build_endpoint_service(settings: Settings, db: Database) -> EndpointService:
    root = Path(settings.serving_dir).expanduser()
    files = ModelFiles(
        RegistryService(db),
        ModelVersionService(db),
        ArtifactService(db, settings.artifacts_destination, settings.serve_artifacts),
        root / "models",
    )
    return EndpointService(
        db,
        files,
        lambda: LocalProcessRunner(root / "deployments"),
        ServingMetrics(),
        single_process=settings.workers <= 1,
    )


__all__ = ["EndpointService", "NewKeys", "build_endpoint_service"]
