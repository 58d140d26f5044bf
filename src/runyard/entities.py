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


__all__ = [
    "DEFAULT_EXPERIMENT_ID",
    "DEFAULT_EXPERIMENT_NAME",
    "DEFAULT_WORKSPACE",
    "Experiment",
    "Workspace",
]
