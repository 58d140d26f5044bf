"""Backend-store URIs per server: a temp SQLite file or a fresh PostgreSQL DB."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USERS = ("postgres", "root")


def sqlite_uri(name: str, workdir: Path) -> str:
    path = workdir / f"{name}.db"
    # fml takes "sqlite://" + absolute path; the SQLAlchemy servers "sqlite:///" + path.
    return f"sqlite://{path}" if name == "fml" else f"sqlite:///{path}"


def postgres_uri(name: str, user: str, database: str) -> str:
    scheme = "postgres" if name == "fml" else "postgresql"
    return f"{scheme}://{user}@{PG_HOST}:{PG_PORT}/{database}"


def _sql(user: str, statement: str) -> None:
    """Run one statement against the ``postgres`` maintenance database."""
    try:
        import psycopg
    except ImportError as exc:
        psql = shutil.which("psql")
        if psql is None:
            raise RuntimeError("need psycopg (pip) or psql to manage PostgreSQL databases") from exc
        subprocess.run(
            [
                psql,
                "-h",
                PG_HOST,
                "-p",
                str(PG_PORT),
                "-U",
                user,
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-qc",
                statement,
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return
    with psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=user, dbname="postgres", autocommit=True, connect_timeout=10
    ) as conn:
        conn.execute(statement.encode())


def detect_pg_user(preferred: str | None) -> str:
    candidates = (preferred,) if preferred else PG_USERS
    errors = []
    for user in candidates:
        try:
            _sql(user, "SELECT 1")
            return user
        except Exception as exc:  # try the next role
            errors.append(f"{user}: {exc}")
    raise RuntimeError("cannot reach PostgreSQL on 127.0.0.1:5432: " + "; ".join(errors))


def _drop(user: str, database: str) -> None:
    _sql(user, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@contextmanager
def backend_uri(name: str, backend: str, workdir: Path, pg_user: str | None) -> Iterator[str]:
    """Yield a fresh backend-store URI for server ``name``; drop it afterwards."""
    if backend == "sqlite":
        yield sqlite_uri(name, workdir)
        return
    if backend != "postgres" or pg_user is None:
        raise ValueError(f"unsupported backend {backend!r}")
    database = f"bench_{name}"
    _drop(pg_user, database)
    _sql(pg_user, f'CREATE DATABASE "{database}"')
    try:
        yield postgres_uri(name, pg_user, database)
    finally:
        _drop(pg_user, database)
