"""``runyard endpoint`` and ``runyard deployment`` against the server."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from runyard.cli import main
from tests.endpoints.conftest import WS


@pytest.fixture
def run(world, monkeypatch, tmp_path):
    monkeypatch.setenv("RUNYARD_HOME", str(tmp_path))
    monkeypatch.setenv("RUNYARD_SERVER", world.url)
    monkeypatch.setenv("RUNYARD_WORKSPACE", WS)
    for var in ("RUNYARD_CLIENT_ID", "RUNYARD_CLIENT_SECRET"):
        monkeypatch.delenv(var, raising=False)

    def invoke(*args: str, token: str | None = None, ok: bool = True) -> str:
        monkeypatch.setenv("RUNYARD_TOKEN", token or world.owner)
        result = CliRunner().invoke(main, list(args))
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    return invoke


def test_endpoint_lifecycle_from_the_command_line(run, world):
    out = run("endpoint", "create", "cli-ep", "--description", "from the CLI")
    assert "primary key:   ryk_" in out and "secondary key: ryk_" in out
    out = run("deployment", "create", "blue", "--endpoint", "cli-ep", "--model", "models:/churn-model/1")
    assert "cli-ep/blue: churn-model version 1, ready" in out
    run(
        "deployment",
        "create",
        "green",
        "-e",
        "cli-ep",
        "--model",
        "models:/churn-model@challenger",
        "--wait",
        "0",
    )
    out = run("endpoint", "traffic", "cli-ep", "blue=90", "green=10", "--mirror", "green=0")
    assert "traffic blue=90%, green=10%" in out
    out = run("endpoint", "traffic", "cli-ep", "blue=50", "green=10", ok=False)
    assert "add up to 60" in out
    out = run("endpoint", "show", "cli-ep")
    assert "Scoring URI  " + world.scoring_url("cli-ep") in out and "green" in out
    assert "cli-ep" in run("endpoint", "list")
    assert "churn-model" in run("deployment", "list", "--endpoint", "cli-ep")
    assert "blue" in run("deployment", "show", "blue", "--endpoint", "cli-ep")
    assert run("endpoint", "logs", "cli-ep", "--deployment", "blue", "--tail", "5").strip()
    assert "..." in run("endpoint", "keys", "cli-ep")
    assert "ryk_" in run("endpoint", "keys", "cli-ep", "--regenerate", "secondary")
    # A reader may look but not route traffic.
    out = run("endpoint", "traffic", "cli-ep", "blue=100", token=world.reader, ok=False)
    assert "Permission denied" in out
    run("endpoint", "traffic", "cli-ep", "blue=100")
    run("deployment", "delete", "green", "--endpoint", "cli-ep")
    run("endpoint", "delete", "cli-ep", "--yes")
    assert "cli-ep" not in run("endpoint", "list")
