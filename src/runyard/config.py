"""Settings: one registry of every setting (name, type, default, help).

Precedence is CLI flag > ``RUNYARD_<NAME>`` environment variable > default. The CLI builds
its flags from this registry, and ``tests/test_config.py`` checks that every setting is
documented in the README, so a setting cannot exist without being discoverable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


def runyard_home(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("RUNYARD_HOME", "~/.runyard")).expanduser()


def _default_store(env: Mapping[str, str] | None = None) -> str:
    return f"sqlite:///{runyard_home(env) / 'runyard.db'}"


def _default_artifacts(env: Mapping[str, str] | None = None) -> str:
    return str(runyard_home(env) / "artifacts")


def _default_serving(env: Mapping[str, str] | None = None) -> str:
    return str(runyard_home(env) / "serving")


@dataclass(frozen=True)
class Setting:
    name: str
    type: type
    default: Any
    help: str

    @property
    def env(self) -> str:
        return "RUNYARD_" + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting("host", str, "127.0.0.1", "Address to listen on."),
    Setting("port", int, 5000, "Port to listen on."),
    Setting("workers", int, 1, "Number of server processes."),
    Setting(
        "backend_store_uri",
        str,
        _default_store,
        "Metadata database: sqlite:///path.db (default ~/.runyard/runyard.db) or "
        "postgresql://user@host:5432/db.",
    ),
    Setting(
        "artifacts_destination",
        str,
        _default_artifacts,
        "Where proxied artifacts are stored: a local folder (default ~/.runyard/artifacts), "
        "s3://bucket/prefix, wasbs://container@account.blob.core.windows.net/prefix or "
        "abfss://container@account.dfs.core.windows.net/prefix.",
    ),
    Setting(
        "s3_endpoint_url",
        str,
        "",
        "Endpoint of an S3-compatible store for s3:// artifacts (SeaweedFS, MinIO, Ceph...); empty: AWS. "
        "Credentials come from the standard AWS variables, profiles or instance roles.",
    ),
    Setting(
        "azure_storage_connection_string",
        str,
        "",
        "Connection string for wasbs:// and abfss:// artifacts (also Azurite); empty: "
        "AZURE_STORAGE_CONNECTION_STRING, then AZURE_STORAGE_ACCESS_KEY, then azure-identity.",
    ),
    Setting(
        "artifacts_presigned_downloads",
        bool,
        False,
        "Hand clients short-lived presigned URLs to download artifacts straight from an S3 or Azure "
        "--artifacts-destination (clients must reach the store). Off: every byte goes through the server.",
    ),
    Setting(
        "default_artifact_root",
        str,
        "mlflow-artifacts:/",
        "Artifact root given to new experiments: mlflow-artifacts:/ (proxied, default), "
        "a file:// path, or http://HOST:PORT/api/2.0/mlflow-artifacts/artifacts.",
    ),
    Setting(
        "serve_artifacts",
        bool,
        True,
        "Serve the proxied artifact API (/api/2.0/mlflow-artifacts).",
    ),
    Setting("log_level", str, "info", "Log level: debug, info, warning or error."),
    Setting(
        "db_pool_size",
        int,
        16,
        "Database connections per server process; on PostgreSQL the most it opens "
        "(replicas x this must fit max_connections).",
    ),
    Setting(
        "statement_timeout_ms",
        int,
        30000,
        "PostgreSQL statement timeout for each query, in milliseconds (0 disables).",
    ),
    Setting(
        "auth",
        str,
        "auto",
        "Authentication: on, off, or auto (on unless the host is a loopback address).",
    ),
    Setting(
        "insecure",
        bool,
        False,
        "Allow authentication off on a host other machines can reach (otherwise refused).",
    ),
    Setting(
        "access_token_ttl_s",
        int,
        3600,
        "Lifetime in seconds of access tokens minted for service principals and device sign-ins.",
    ),
    Setting(
        "token_rate_limit",
        int,
        30,
        "Token-endpoint attempts allowed per minute for each client id and each address.",
    ),
    Setting(
        "batch_roots",
        str,
        "",
        "Comma-separated local folders that API batch jobs may read and write (cluster paths such as "
        "hdfs:// or s3a:// are not restricted). Empty: anywhere with authentication off, nowhere with it on.",
    ),
    Setting(
        "batch_concurrency",
        int,
        1,
        "Batch jobs each server process runs at once (each in its own Spark process); 0: run none here.",
    ),
    Setting(
        "serving_dir",
        str,
        _default_serving,
        "Where online endpoints keep model copies, scoring-process logs and virtualenvs "
        "(default ~/.runyard/serving).",
    ),
    Setting(
        "serving_timeout_s",
        float,
        60.0,
        "Seconds a scoring request to an endpoint may take before it answers 504.",
    ),
    Setting(
        "serving_max_body_mb",
        int,
        50,
        "Largest scoring request body an endpoint accepts, in MiB (larger ones get 413).",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def _coerce(setting: Setting, raw: Any) -> Any:
    if setting.type is bool and isinstance(raw, str):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    return setting.type(raw)


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    backend_store_uri: str = field(default_factory=_default_store)
    artifacts_destination: str = field(default_factory=_default_artifacts)
    default_artifact_root: str = "mlflow-artifacts:/"
    serve_artifacts: bool = True
    s3_endpoint_url: str = ""
    azure_storage_connection_string: str = ""
    artifacts_presigned_downloads: bool = False
    log_level: str = "info"
    db_pool_size: int = 16
    statement_timeout_ms: int = 30000
    auth: str = "auto"
    insecure: bool = False
    access_token_ttl_s: int = 3600
    token_rate_limit: int = 30
    batch_roots: str = ""
    batch_concurrency: int = 1
    serving_dir: str = field(default_factory=_default_serving)
    serving_timeout_s: float = 60.0
    serving_max_body_mb: int = 50

    @classmethod
    def load(cls, overrides: dict[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Settings:
        """Resolve every setting: explicit override, then RUNYARD_* variable, then default."""
        env = os.environ if env is None else env
        overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            if setting.name in overrides:
                values[setting.name] = _coerce(setting, overrides[setting.name])
            elif setting.env in env:
                values[setting.name] = _coerce(setting, env[setting.env])
            else:
                default = setting.default
                values[setting.name] = default(env) if callable(default) else default
        return cls(**values)


def setting(name: str) -> Setting:
    return _BY_NAME[name]


assert {f.name for f in fields(Settings)} == set(_BY_NAME), "Settings and SETTINGS must agree"

__all__ = ["SETTINGS", "Setting", "Settings", "runyard_home", "setting"]
