"""``runyard server``: start the tracking server (a drop-in for ``mlflow server``)."""

from __future__ import annotations

import logging
import os

import click

from runyard.cli.options import setting_options
from runyard.config import SETTINGS, Settings


@click.command()
@setting_options(
    "host",
    "port",
    "workers",
    "backend_store_uri",
    "artifacts_destination",
    "s3_endpoint_url",
    "azure_storage_connection_string",
    "artifacts_presigned_downloads",
    "default_artifact_root",
    "serve_artifacts",
    "log_level",
    "db_pool_size",
    "statement_timeout_ms",
    "auth",
    "insecure",
    "access_token_ttl_s",
    "token_rate_limit",
    "batch_roots",
    "batch_concurrency",
    "serving_dir",
    "serving_timeout_s",
    "serving_max_body_mb",
)
def server(**flags: object) -> None:
    """Start the Runyard server.

    With no options it stores metadata in ~/.runyard/runyard.db (SQLite) and artifacts
    in ~/.runyard/artifacts, and listens on 127.0.0.1:5000. Every option can also be set
    with its RUNYARD_* environment variable.
    """
    import uvicorn

    settings = Settings.load(flags)
    _check_auth(settings)
    level = settings.log_level.upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Alembic narrates every plugin it loads at INFO; our own log line says what matters.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))
    from runyard.errors import RunyardError

    try:
        if settings.workers > 1:
            # Worker processes rebuild Settings from the environment: hand them ours.
            for s in SETTINGS:
                os.environ[s.env] = str(getattr(settings, s.name))
            target: object = "runyard.app:create_app"
            _prepare(settings)
        else:
            from runyard.app import create_app

            target = create_app(settings)
    except RunyardError as exc:
        # A stale schema and the like: say what to do, without a traceback.
        raise click.ClickException(exc.message) from None
    click.echo(
        f"Runyard listening on http://{settings.host}:{settings.port}  "
        f"(store {settings.backend_store_uri.split('@')[-1]}, artifacts {settings.artifacts_destination})"
    )
    uvicorn.run(
        target,  # type: ignore[arg-type]
        host=settings.host,
        port=settings.port,
        workers=settings.workers if settings.workers > 1 else None,
        factory=settings.workers > 1,
        log_level=settings.log_level.lower(),
        access_log=settings.log_level.lower() == "debug",
        timeout_graceful_shutdown=10,
    )


def _check_auth(settings: Settings) -> None:
    """Refuse an insecure configuration with a plain message instead of a traceback."""
    from runyard.auth import auth_enabled
    from runyard.errors import RunyardError

    try:
        auth_enabled(settings)
    except RunyardError as exc:
        raise click.ClickException(exc.message) from None


def _prepare(settings: Settings) -> None:
    """Create or check the schema once, before workers race to do it."""
    from runyard.app import create_app

    create_app(settings).close()
