"""The plugin and the CLI import nothing of the server, so `pip install runyard` stays light."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SERVER_MODULES = [
    "starlette",
    "sqlalchemy",
    "msgspec",
    "uvicorn",
    "alembic",
    "psycopg",
    "runyard.api",
    "runyard.store",
    "runyard.services",
    "runyard.app",
]


def imported_after(statement: str) -> list[str]:
    code = f"""
import json, sys
{statement}
print(json.dumps(sorted(sys.modules)))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def server_modules_in(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == s or m.startswith(s + ".") for s in SERVER_MODULES)]


@pytest.mark.parametrize(
    "statement",
    [
        "import runyard.client.auth",
        "from runyard.client.auth import RunyardAuthProvider; RunyardAuthProvider().get_auth()",
        "import runyard.client.credentials, runyard.client.api, runyard.client.device",
    ],
)
def test_client_imports_nothing_of_the_server(statement):
    modules = imported_after(statement)
    assert "runyard.client.auth" in modules or "runyard.client.api" in modules
    assert server_modules_in(modules) == []
    assert "mlflow" not in modules  # the plugin does not even need mlflow to load


def test_cli_admin_commands_import_nothing_of_the_server():
    # `runyard login` must work where only the plugin is installed.
    modules = imported_after(
        "from click.testing import CliRunner\n"
        "from runyard.cli import main\n"
        "assert CliRunner().invoke(main, ['token', 'list', '--help']).exit_code == 0"
    )
    assert server_modules_in(modules) == []


def test_the_check_can_fail():
    assert server_modules_in(imported_after("import runyard.app")) != []
