"""SQL for online endpoints and their deployments. Every statement is scoped by workspace_id."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from runyard.entities import Deployment, Endpoint, Workspace
from runyard.store.sql.schema import deployments, endpoints, workspaces

_ep, _dp = endpoints.c, deployments.c


def _endpoint(r: Row[Any]) -> Endpoint:
    return Endpoint(
        r.id,
        r.workspace_id,
        r.name,
        r.description,
        json.loads(r.traffic),
        json.loads(r.mirror),
        r.primary_key_hash,
        r.primary_key_hint,
        r.secondary_key_hash,
        r.secondary_key_hint,
        r.keys_update_time,
        r.created_by,
        r.creation_time,
        r.last_update_time,
    )


def _deployment(r: Row[Any], endpoint: str) -> Deployment:
    return Deployment(
        r.id,
        r.workspace_id,
        r.endpoint_id,
        endpoint,
        r.name,
        r.model_uri,
        r.model_name,
        r.model_version,
        r.env_manager,
        json.loads(r.environment),
        r.created_by,
        r.creation_time,
        r.last_update_time,
    )


def _with_deployments(conn: Connection, eps: list[Endpoint]) -> list[Endpoint]:
    """Fill each endpoint's deployments with one query for all of them."""
    if not eps:
        return eps
    by_id = {ep.id: ep for ep in eps}
    stmt = (
        select(deployments)
        .where(_dp.workspace_id == eps[0].workspace_id, _dp.endpoint_id.in_(list(by_id)))
        .order_by(_dp.endpoint_id, _dp.name)
    )
    for r in conn.execute(stmt):
        ep = by_id[r.endpoint_id]
        ep.deployments.append(_deployment(r, ep.name))
    return eps


# -- reads --------------------------------------------------------------------------------
def get_endpoint(conn: Connection, wid: int, name: str) -> Endpoint | None:
    row = conn.execute(select(endpoints).where(_ep.workspace_id == wid, _ep.name == name)).first()
    return None if row is None else _with_deployments(conn, [_endpoint(row)])[0]


def list_endpoints(conn: Connection, wid: int) -> list[Endpoint]:
    rows = conn.execute(select(endpoints).where(_ep.workspace_id == wid).order_by(_ep.name))
    return _with_deployments(conn, [_endpoint(r) for r in rows])


def all_endpoints(conn: Connection) -> list[tuple[Workspace, Endpoint]]:
    """Every endpoint of every workspace, with its workspace (start-up redeploys them all)."""
    stmt = (
        select(endpoints, workspaces.c.name.label("workspace_name"))
        .join(workspaces, workspaces.c.id == _ep.workspace_id)
        .order_by(_ep.workspace_id, _ep.name)
    )
    rows = list(conn.execute(stmt))
    out = [(Workspace(id=r.workspace_id, name=r.workspace_name), _endpoint(r)) for r in rows]
    by_ws: dict[int, list[Endpoint]] = {}
    for _ws, ep in out:
        by_ws.setdefault(ep.workspace_id, []).append(ep)
    for group in by_ws.values():
        _with_deployments(conn, group)
    return out


# -- writes -------------------------------------------------------------------------------
def insert_endpoint(
    conn: Connection,
    wid: int,
    name: str,
    description: str | None,
    keys: tuple[str, str, str, str],
    created_by: str | None,
    now: int,
) -> None:
    primary_hash, primary_hint, secondary_hash, secondary_hint = keys
    conn.execute(
        insert(endpoints).values(
            workspace_id=wid,
            name=name,
            description=description,
            traffic="{}",
            mirror="{}",
            primary_key_hash=primary_hash,
            primary_key_hint=primary_hint,
            secondary_key_hash=secondary_hash,
            secondary_key_hint=secondary_hint,
            keys_update_time=now,
            created_by=created_by,
            creation_time=now,
            last_update_time=now,
        )
    )


def update_endpoint(conn: Connection, wid: int, name: str, now: int, **values: Any) -> bool:
    for key in ("traffic", "mirror"):
        if key in values:
            values[key] = json.dumps(values[key], sort_keys=True)
    stmt = (
        update(endpoints)
        .where(_ep.workspace_id == wid, _ep.name == name)
        .values(last_update_time=now, **values)
    )
    return conn.execute(stmt).rowcount > 0


def delete_endpoint(conn: Connection, wid: int, endpoint_id: int) -> None:
    conn.execute(delete(deployments).where(_dp.workspace_id == wid, _dp.endpoint_id == endpoint_id))
    conn.execute(delete(endpoints).where(_ep.workspace_id == wid, _ep.id == endpoint_id))


def insert_deployment(
    conn: Connection,
    wid: int,
    endpoint_id: int,
    name: str,
    model: tuple[str, str, int],
    env_manager: str,
    environment: dict[str, str],
    created_by: str | None,
    now: int,
) -> None:
    model_uri, model_name, model_version = model
    conn.execute(
        insert(deployments).values(
            workspace_id=wid,
            endpoint_id=endpoint_id,
            name=name,
            model_uri=model_uri,
            model_name=model_name,
            model_version=model_version,
            env_manager=env_manager,
            environment=json.dumps(environment, sort_keys=True),
            created_by=created_by,
            creation_time=now,
            last_update_time=now,
        )
    )


def update_deployment(
    conn: Connection, wid: int, endpoint_id: int, name: str, now: int, **values: Any
) -> bool:
    if "environment" in values:
        values["environment"] = json.dumps(values["environment"], sort_keys=True)
    stmt = (
        update(deployments)
        .where(_dp.workspace_id == wid, _dp.endpoint_id == endpoint_id, _dp.name == name)
        .values(last_update_time=now, **values)
    )
    return conn.execute(stmt).rowcount > 0


def delete_deployment(conn: Connection, wid: int, endpoint_id: int, name: str) -> bool:
    stmt = delete(deployments).where(
        _dp.workspace_id == wid, _dp.endpoint_id == endpoint_id, _dp.name == name
    )
    return conn.execute(stmt).rowcount > 0


__all__ = [
    "Deployment",
    "Endpoint",
    "all_endpoints",
    "delete_deployment",
    "delete_endpoint",
    "get_endpoint",
    "insert_deployment",
    "insert_endpoint",
    "list_endpoints",
    "update_deployment",
    "update_endpoint",
]
