"""Create and drop throwaway PostgreSQL databases for tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get("RUNYARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


class PostgresUnavailable(RuntimeError):
    pass


def _connect(admin_url: str):  # noqa: ANN202
    import psycopg

    url = make_url(admin_url)
    try:
        return psycopg.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 5432,
            user=url.username or "postgres",
            password=url.password,
            dbname=url.database or "postgres",
            autocommit=True,
            connect_timeout=5,
        )
    except Exception as exc:  # noqa: BLE001 - any connection failure means "unavailable"
        raise PostgresUnavailable(str(exc).strip()) from exc


def create_database(admin_url: str, name: str) -> str:
    with _connect(admin_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    with _connect(admin_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def postgres_database(prefix: str = "runyard_test") -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards.

    Without a reachable server the test fails in CI (PostgreSQL is required there) and is
    skipped with the reason elsewhere.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        url = create_database(PG_ADMIN_URL, name)
    except PostgresUnavailable as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but unavailable: {exc}")
        pytest.skip(f"PostgreSQL unavailable at {PG_ADMIN_URL}: {exc}")
    try:
        yield url
    finally:
        drop_database(PG_ADMIN_URL, name)


@contextmanager
def backend_url(kind: str, tmp: Path) -> Iterator[str]:
    """A fresh metadata database URL of ``kind``: "sqlite" (a file in ``tmp``) or "postgres"."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'runyard.db'}"
        return
    with postgres_database() as url:
        yield url
