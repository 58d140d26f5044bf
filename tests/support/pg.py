"""Create and drop throwaway PostgreSQL databases for tests."""

from __future__ import annotations

from sqlalchemy.engine import make_url


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
