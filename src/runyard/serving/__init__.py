"""Online serving: scoring processes for deployments, the runner that supervises them, the router.

Only the standard-library runner is imported here: the scoring server also runs inside a model's
own virtual environment, where the router's dependencies need not exist.
"""

from __future__ import annotations

from runyard.serving.runner import DeploymentSpec, DeploymentStatus, LocalProcessRunner, Runner

__all__ = ["DeploymentSpec", "DeploymentStatus", "LocalProcessRunner", "Runner"]
