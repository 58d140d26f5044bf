"""Plain data carried between layers. Wire structs live in api/wire; rows live in store/."""

from __future__ import annotations

from dataclasses import dataclass


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


__all__ = [
    "ANONYMOUS",
    "DEFAULT_EXPERIMENT_ID",
    "DEFAULT_EXPERIMENT_NAME",
    "DEFAULT_WORKSPACE",
    "ROLES",
    "AuditEntry",
    "Experiment",
    "Member",
    "Principal",
    "ServicePrincipal",
    "Token",
    "Workspace",
]
