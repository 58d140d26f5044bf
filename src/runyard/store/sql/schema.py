"""The one definition of Runyard's relational schema (SQLAlchemy Core).

Every row that belongs to a workspace carries ``workspace_id`` so that no query can
forget the scope. Migrations in ``migrations/versions`` must produce exactly this schema;
``tests/store/test_migrations.py`` compares the two.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Named constraints keep Alembic diffs stable across SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only aliases ROWID for the exact type INTEGER; BigInteger elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")

KEY = 250  # MLflow's maximum key length
NAME = 256

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(63), nullable=False, unique=True),
    Column("description", Text, nullable=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
)

# Monotonic counters shared by all workspaces (e.g. experiment ids). Incremented with
# UPDATE ... RETURNING, which takes a row lock on PostgreSQL, so replicas never collide.
counters = Table(
    "counters",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

experiments = Table(
    "experiments",
    metadata,
    Column("workspace_id", BigId, ForeignKey("workspaces.id"), nullable=False),
    # Globally unique except the per-workspace Default experiment, which is 0 everywhere.
    Column("experiment_id", BigInteger, nullable=False),
    Column("name", String(500), nullable=False),
    Column("artifact_location", Text, nullable=True),
    Column("lifecycle_stage", String(32), nullable=False, server_default="active"),
    Column("creation_time", BigInteger, nullable=True),
    Column("last_update_time", BigInteger, nullable=True),
    PrimaryKeyConstraint("workspace_id", "experiment_id"),
    UniqueConstraint("workspace_id", "name"),
)
# search_experiments' default order (creation_time DESC NULLS LAST, experiment_id), walked
# off the index instead of sorted: SQLite spent more on sorting a page of 561 experiments
# than on reading them.
Index(
    "ix_experiments_created",
    experiments.c.workspace_id,
    experiments.c.creation_time.desc(),
    experiments.c.experiment_id,
)

experiment_tags = Table(
    "experiment_tags",
    metadata,
    Column("workspace_id", BigId, nullable=False),
    Column("experiment_id", BigInteger, nullable=False),
    Column("key", String(KEY), nullable=False),
    Column("value", Text, nullable=True),
    PrimaryKeyConstraint("workspace_id", "experiment_id", "key"),
)

runs = Table(
    "runs",
    metadata,
    Column("run_uuid", String(32), primary_key=True),
    Column("workspace_id", BigId, nullable=False),
    Column("experiment_id", BigInteger, nullable=False),
    Column("name", String(NAME), nullable=True),
    Column("user_id", String(NAME), nullable=True),
    Column("status", String(20), nullable=False),
    # Always set (MLflow defaults it to the creation time); NOT NULL lets the default
    # "start_time DESC" order walk the index instead of sorting with a NULLS LAST case.
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("deleted_time", BigInteger, nullable=True),
    Column("lifecycle_stage", String(20), nullable=False),
    Column("artifact_uri", Text, nullable=True),
    Index("ix_runs_experiment_start", "workspace_id", "experiment_id", "start_time", "run_uuid"),
)

# Full metric history. No primary key: identical re-logs are harmless and a wide
# composite key would slow the hottest insert path; reads go through the index.
metrics = Table(
    "metrics",
    metadata,
    Column("workspace_id", BigId, nullable=False),
    Column("run_uuid", String(32), nullable=False),
    Column("key", String(KEY), nullable=False),
    Column("value", Float, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("is_nan", Boolean, nullable=False),
    # In get-history's order (value and is_nan only break ties within one step), and covering
    # every column it reads: a history streams, and pages from a keyset token, off the index
    # alone, without sorting millions of points or visiting the table.
    Index(
        "ix_metrics_run_key_time", "run_uuid", "key", "timestamp", "step", "value", "is_nan", "workspace_id"
    ),
)

# One row per (run, key) with the value MLflow reports as "latest" (max step, then max
# timestamp, then max value). Searching and listing runs read only this table.
latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("workspace_id", BigId, nullable=False),
    Column("run_uuid", String(32), nullable=False),
    Column("key", String(KEY), nullable=False),
    Column("value", Float, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("is_nan", Boolean, nullable=False),
    # Filters and orderings reach rows by (run_uuid, key). A search ordered by a metric walks
    # (key, value) in order and stops at the page's end (1,000,000 runs: no sort); is_nan and
    # run_uuid make that walk index-only. It costs the upsert one more index entry.
    PrimaryKeyConstraint("run_uuid", "key"),
    Index("ix_latest_metrics_key_value", "key", "value", "is_nan", "run_uuid"),
)

params = Table(
    "params",
    metadata,
    Column("workspace_id", BigId, nullable=False),
    Column("run_uuid", String(32), nullable=False),
    Column("key", String(KEY), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("run_uuid", "key"),
    # run_uuid last: "does this run have param = value" is answered from the index alone.
    Index("ix_params_key_value", "key", "value", "run_uuid"),
)

tags = Table(
    "tags",
    metadata,
    Column("workspace_id", BigId, nullable=False),
    Column("run_uuid", String(32), nullable=False),
    Column("key", String(KEY), nullable=False),
    Column("value", Text, nullable=True),
    PrimaryKeyConstraint("run_uuid", "key"),
    Index("ix_tags_key_value", "key", "value"),
)

datasets = Table(
    "datasets",
    metadata,
    Column("dataset_uuid", String(36), primary_key=True),
    Column("workspace_id", BigId, nullable=False),
    Column("experiment_id", BigInteger, nullable=False),
    Column("name", String(500), nullable=False),
    Column("digest", String(36), nullable=False),
    Column("dataset_source_type", String(36), nullable=False),
    Column("dataset_source", Text, nullable=False),
    Column("dataset_schema", Text, nullable=True),
    Column("dataset_profile", Text, nullable=True),
    UniqueConstraint("workspace_id", "experiment_id", "name", "digest"),
)

# Edges: dataset -> run (log-inputs) and run -> logged model (log-outputs / model inputs).
inputs = Table(
    "inputs",
    metadata,
    Column("input_uuid", String(36), primary_key=True),
    Column("workspace_id", BigId, nullable=False),
    Column("source_type", String(36), nullable=False),
    Column("source_id", String(36), nullable=False),
    Column("destination_type", String(36), nullable=False),
    Column("destination_id", String(36), nullable=False),
    Column("step", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("source_type", "source_id", "destination_type", "destination_id"),
    Index("ix_inputs_destination", "destination_type", "destination_id"),
)

input_tags = Table(
    "input_tags",
    metadata,
    Column("workspace_id", BigId, nullable=False),
    Column("input_uuid", String(36), nullable=False),
    Column("name", String(255), nullable=False),
    Column("value", String(500), nullable=False),
    PrimaryKeyConstraint("input_uuid", "name"),
)

logged_models = Table(
    "logged_models",
    metadata,
    Column("model_id", String(64), primary_key=True),
    Column("workspace_id", BigId, nullable=False),
    Column("experiment_id", BigInteger, nullable=False),
    Column("name", String(500), nullable=False),
    Column("artifact_location", Text, nullable=False),
    Column("creation_timestamp_ms", BigInteger, nullable=False),
    Column("last_updated_timestamp_ms", BigInteger, nullable=False),
    Column("status", Integer, nullable=False),
    Column("lifecycle_stage", String(32), nullable=False, server_default="active"),
    Column("model_type", String(500), nullable=True),
    Column("source_run_id", String(32), nullable=True),
    Column("status_message", Text, nullable=True),
    Index("ix_logged_models_experiment", "workspace_id", "experiment_id"),
)

logged_model_params = Table(
    "logged_model_params",
    metadata,
    Column("workspace_id", BigId, nullable=False),
    Column("model_id", String(64), nullable=False),
    Column("key", String(KEY), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("model_id", "key"),
)

logged_model_tags = Table(
    "logged_model_tags",
    metadata,
    Column("workspace_id", BigId, nullable=False),
    Column("model_id", String(64), nullable=False),
    Column("key", String(KEY), nullable=False),
    Column("value", Text, nullable=True),
    PrimaryKeyConstraint("model_id", "key"),
)

logged_model_metrics = Table(
    "logged_model_metrics",
    metadata,
    Column("workspace_id", BigId, nullable=False),
    Column("model_id", String(64), nullable=False),
    Column("metric_name", String(KEY), nullable=False),
    Column("metric_value", Float, nullable=True),  # NULL means NaN (SQLite has no NaN REAL)
    Column("metric_timestamp_ms", BigInteger, nullable=False),
    Column("metric_step", BigInteger, nullable=False),
    Column("run_id", String(32), nullable=False),
    Column("dataset_uuid", String(36), nullable=True),
    Column("dataset_name", String(500), nullable=True),
    Column("dataset_digest", String(36), nullable=True),
    # MLflow's key: re-logging the same point (e.g. a client retry) is a no-op.
    PrimaryKeyConstraint("model_id", "metric_name", "metric_timestamp_ms", "metric_step", "run_id"),
)

registered_models = Table(
    "registered_models",
    metadata,
    Column("workspace_id", BigId, nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("creation_time", BigInteger, nullable=True),
    Column("last_updated_time", BigInteger, nullable=True),
    Column("description", Text, nullable=True),
    # Allocates version numbers: UPDATE ... SET last_version = last_version + 1 RETURNING
    # is atomic under concurrent replicas, so versions stay 1..N without gaps or repeats.
    Column("last_version", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("workspace_id", "name"),
)

registered_model_tags = Table(
    "registered_model_tags",
    metadata,
    Column("workspace_id", BigId, nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("key", String(KEY), nullable=False),
    Column("value", Text, nullable=True),
    PrimaryKeyConstraint("workspace_id", "name", "key"),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("workspace_id", BigId, nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("version", Integer, nullable=False),
    Column("creation_time", BigInteger, nullable=True),
    Column("last_updated_time", BigInteger, nullable=True),
    Column("description", Text, nullable=True),
    Column("user_id", String(NAME), nullable=True),
    Column("current_stage", String(20), nullable=False, server_default="None"),
    Column("source", Text, nullable=True),
    Column("run_id", String(32), nullable=True),
    Column("run_link", Text, nullable=True),
    Column("status", String(20), nullable=False, server_default="READY"),
    Column("status_message", Text, nullable=True),
    Column("storage_location", Text, nullable=True),
    Column("model_id", String(64), nullable=True),
    Column("deleted", Boolean, nullable=False, server_default="0"),
    PrimaryKeyConstraint("workspace_id", "name", "version"),
    Index("ix_model_versions_run", "run_id"),
)

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("workspace_id", BigId, nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("version", Integer, nullable=False),
    Column("key", String(KEY), nullable=False),
    Column("value", Text, nullable=True),
    PrimaryKeyConstraint("workspace_id", "name", "version", "key"),
)

registered_model_aliases = Table(
    "registered_model_aliases",
    metadata,
    Column("workspace_id", BigId, nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("alias", String(KEY), nullable=False),
    Column("version", Integer, nullable=False),
    PrimaryKeyConstraint("workspace_id", "name", "alias"),
)

# In-progress multipart uploads of proxied artifacts (so any replica can complete them).
multipart_uploads = Table(
    "multipart_uploads",
    metadata,
    Column("upload_id", String(64), primary_key=True),
    Column("workspace_id", BigId, nullable=False),
    Column("path", Text, nullable=False),
    Column("creation_time", BigInteger, nullable=False),
)

# -- access control ----------------------------------------------------------------------
# A principal is a user or a service principal; admins are global. Service principals are
# named "<workspace>/<name>" so two workspaces may each have their own "ci-trainer".
principals = Table(
    "principals",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(NAME), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("is_admin", Boolean, nullable=False, server_default="0"),
    Column("creation_time", BigInteger, nullable=False),
)

workspace_members = Table(
    "workspace_members",
    metadata,
    Column("workspace_id", BigId, nullable=False),
    Column("principal_id", BigInteger, nullable=False),
    Column("role", String(16), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    PrimaryKeyConstraint("workspace_id", "principal_id"),
    Index("ix_workspace_members_principal", "principal_id"),
)

service_principals = Table(
    "service_principals",
    metadata,
    Column("principal_id", BigInteger, primary_key=True),
    Column("workspace_id", BigId, nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("client_id", String(64), nullable=False, unique=True),
    Column("secret_hash", String(256), nullable=False),  # argon2id
    Column("created_by", String(NAME), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    UniqueConstraint("workspace_id", "name"),
)

# Personal access tokens and minted access tokens. Only a SHA-256 of the secret is kept;
# the token id (in clear in the token string) finds the row.
tokens = Table(
    "tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("principal_id", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),  # pat | device | service
    Column("name", String(NAME), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("revoked_time", BigInteger, nullable=True),
    Index("ix_tokens_principal", "principal_id"),
)

# Pending device-code sign-ins (RFC 8628). The device code is a secret: kept hashed.
device_codes = Table(
    "device_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("user_code", String(16), nullable=False, unique=True),
    Column("status", String(16), nullable=False),  # pending | approved | denied | used
    Column("principal_id", BigInteger, nullable=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)

# Failed token-endpoint attempts of the last minute, per key (client id, address): the rate
# limit lives here, not in process memory, so every replica counts against the same limit.
auth_attempts = Table(
    "auth_attempts",
    metadata,
    Column("key", String(300), nullable=False),
    Column("time", BigInteger, nullable=False),
    Index("ix_auth_attempts_key_time", "key", "time"),
    Index("ix_auth_attempts_time", "time"),
)

# Who changed access, created tokens, deleted experiments or models. workspace_id is NULL
# for global events (users, tokens, sign-ins).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", BigId, nullable=True),
    Column("time", BigInteger, nullable=False),
    Column("actor", String(NAME), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(512), nullable=False),
    Column("details", Text, nullable=True),
    Index("ix_audit_log_workspace", "workspace_id", "id"),
)

# -- batch jobs ---------------------------------------------------------------------------
# Spark scoring jobs submitted through the API. model_uri is kept as given; model_name and
# model_version are what it resolved to at submit time, so a later alias move does not change
# what a queued job scores. runner/heartbeat_time let a server tell a job whose runner died
# (stale heartbeat) from one another replica is still running.
batch_jobs = Table(
    "batch_jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("workspace_id", BigId, nullable=False),
    Column("model_uri", Text, nullable=False),
    Column("model_name", String(NAME), nullable=False),
    Column("model_version", Integer, nullable=False),
    Column("input_path", Text, nullable=False),
    Column("input_format", String(16), nullable=False),
    Column("output_path", Text, nullable=False),
    Column("output_format", String(16), nullable=False),
    Column("result_column", String(KEY), nullable=False),
    Column("master", String(NAME), nullable=False),
    Column("status", String(16), nullable=False),  # queued | running | succeeded | failed | cancelled
    Column("message", Text, nullable=True),
    Column("row_count", BigInteger, nullable=True),
    Column("tasks_total", BigInteger, nullable=True),
    Column("tasks_done", BigInteger, nullable=True),
    Column("created_by", String(NAME), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("start_time", BigInteger, nullable=True),
    Column("end_time", BigInteger, nullable=True),
    Column("runner", String(128), nullable=True),
    Column("heartbeat_time", BigInteger, nullable=True),
    Index("ix_batch_jobs_workspace", "workspace_id", "creation_time", "id"),
    Index("ix_batch_jobs_status", "status", "creation_time"),
)

# Online endpoints (issue 5). Traffic and mirror shares are small JSON maps of deployment
# name → percent, read and written whole with the endpoint. Endpoint keys are secrets:
# only a SHA-256 and the last four characters (to tell keys apart) are kept.
endpoints = Table(
    "endpoints",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", BigId, nullable=False),
    Column("name", String(63), nullable=False),
    Column("description", Text, nullable=True),
    Column("traffic", Text, nullable=False),
    Column("mirror", Text, nullable=False),
    Column("primary_key_hash", String(64), nullable=False),
    Column("primary_key_hint", String(8), nullable=False),
    Column("secondary_key_hash", String(64), nullable=False),
    Column("secondary_key_hint", String(8), nullable=False),
    Column("keys_update_time", BigInteger, nullable=False),
    Column("created_by", String(NAME), nullable=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    UniqueConstraint("workspace_id", "name"),
)

# One model version (resolved from models:/name/N or models:/name@alias at create/update
# time) running behind an endpoint.
deployments = Table(
    "deployments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", BigId, nullable=False),
    Column("endpoint_id", BigInteger, nullable=False),
    Column("name", String(63), nullable=False),
    Column("model_uri", String(512), nullable=False),
    Column("model_name", String(NAME), nullable=False),
    Column("model_version", BigInteger, nullable=False),
    Column("env_manager", String(16), nullable=False),
    Column("environment", Text, nullable=False),
    Column("created_by", String(NAME), nullable=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    UniqueConstraint("endpoint_id", "name"),
    Index("ix_deployments_workspace", "workspace_id", "endpoint_id"),
)

__all__ = ["metadata"]
