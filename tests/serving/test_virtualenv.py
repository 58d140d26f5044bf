"""env_manager="virtualenv": a venv built from the model's requirements, cached per requirements hash.

Kept cheap: the model's requirements are replaced by nothing, so pip installs only the scoring
server's two packages. The process then runs in that venv, without MLflow, and must fail to load
with exactly that reason, which proves it did not run in Runyard's own Python.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runyard.serving.environments import environment_hash, model_requirements
from runyard.serving.runner import DeploymentSpec, LocalProcessRunner
from tests.serving.conftest import wait_for

pytestmark = pytest.mark.slow


def test_requirements_come_from_python_env_yaml(models_dir: Path) -> None:
    reqs = model_requirements(models_dir / "iris")
    assert "mlflow==3.17.2" in reqs and any(r.startswith("scikit-learn==") for r in reqs)
    assert environment_hash(reqs) == environment_hash(list(reqs))
    assert environment_hash(reqs) != environment_hash([*reqs, "extra"])


def test_virtualenv_is_built_once_and_used(models_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(models_dir / "iris", model)
    (model / "requirements.txt").write_text("# nothing: only the scoring server's own packages\n")
    with LocalProcessRunner(tmp_path / "state", max_backoff_s=60) as runner:
        runner.deploy(DeploymentSpec("1.e.venv", model, env_manager="virtualenv"))
        wait_for(runner, "1.e.venv", {"failed"}, timeout=180)
        status = runner.status("1.e.venv")
        assert status.message == "ModuleNotFoundError: No module named 'mlflow'", status
        envs = [p for p in (tmp_path / "state" / "_envs").iterdir() if p.is_dir()]
        assert len(envs) == 1 and (envs[0] / ".runyard-ready").is_file()
        assert f"{envs[0]}/lib/" in "\n".join(runner.logs("1.e.venv"))  # the traceback is the venv's

        # Same requirements → the cached venv, not a second build.
        runner.deploy(DeploymentSpec("1.e.venv2", model, env_manager="virtualenv"))
        wait_for(runner, "1.e.venv2", {"failed"}, timeout=60)
        assert f"using cached virtualenv {envs[0]}" in "\n".join(runner.logs("1.e.venv2"))
        assert [p for p in (tmp_path / "state" / "_envs").iterdir() if p.is_dir()] == envs


def test_requirements_pip_cannot_install_fail_with_pips_reason(models_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(models_dir / "iris", model)
    (model / "requirements.txt").write_text("this is not a requirement ===\n")
    with LocalProcessRunner(tmp_path / "state", max_backoff_s=60) as runner:
        runner.deploy(DeploymentSpec("1.e.bad", model, env_manager="virtualenv"))
        wait_for(runner, "1.e.bad", {"failed"}, timeout=60)
        message = runner.status("1.e.bad").message or ""
        assert message.startswith("cannot build the environment: pip install failed:"), message
        assert not any((tmp_path / "state" / "_envs").glob("*/.runyard-ready"))
