"""Virtual environments for ``env_manager="virtualenv"``: built from a model's requirements, cached.

One venv per hash of (Python version, the model's requirements, the scoring server's own
requirements) under ``envs_dir/<hash>/``, so deployments of models with the same requirements
share it. Built with ``python -m venv`` and pip from the package index; the scoring server's code
is linked in, not installed (Runyard need not be on the index).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

READY = ".runyard-ready"
# The scoring server's own imports besides mlflow (which a model's requirements.txt names).
SERVING_PACKAGES = ("starlette", "uvicorn")


class EnvironmentError_(RuntimeError):  # noqa: N801 - not the builtin EnvironmentError (= OSError)
    """The environment cannot be built; the message says why."""


def model_requirements(model_path: Path) -> list[str]:
    """Requirement lines from ``python_env.yaml`` (its ``-r`` files expanded) or ``requirements.txt``."""
    python_env = model_path / "python_env.yaml"
    deps = (
        _yaml_list(python_env.read_text(), "dependencies")
        if python_env.is_file()
        else ["-r requirements.txt"]
    )
    lines: list[str] = []
    for dep in deps:
        if dep.startswith("-r"):
            req = model_path / dep[2:].strip()
            if req.is_file():
                lines += _requirement_lines(req.read_text())
        else:
            lines.append(dep)
    return lines


def wanted_python(model_path: Path) -> str | None:
    python_env = model_path / "python_env.yaml"
    if not python_env.is_file():
        return None
    for line in python_env.read_text().splitlines():
        if line.startswith("python:"):
            return line.split(":", 1)[1].strip().strip("'\"")
    return None


def serving_requirements() -> list[str]:
    """The scoring server's own packages, pinned to the versions Runyard runs with."""
    out = []
    for name in SERVING_PACKAGES:
        try:
            out.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(name)
    return out


def environment_hash(requirements: list[str]) -> str:
    key = {
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "requirements": requirements,
        "serving": serving_requirements(),
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def virtualenv_python(model_path: Path, envs_dir: Path, log: Callable[[str], None]) -> Path:
    """The interpreter of the model's cached venv, building it first if needed (under a file lock)."""
    requirements = model_requirements(model_path)
    digest = environment_hash(requirements)
    env = envs_dir / digest
    python = env / "bin" / "python"
    if (env / READY).is_file():
        log(f"using cached virtualenv {env}")
        return python
    envs_dir.mkdir(parents=True, exist_ok=True)
    with open(envs_dir / f"{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another deployment may be building the same one
        if (env / READY).is_file():
            log(f"using cached virtualenv {env}")
            return python
        wanted = wanted_python(model_path)
        ours = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
        if wanted and wanted.split(".")[:2] != ours.split(".")[:2]:
            log(f"the model wants Python {wanted}; building with this server's Python {ours}")
        log(f"building virtualenv {env} for {len(requirements)} requirements")
        shutil.rmtree(env, ignore_errors=True)  # a half-built one from an interrupted build
        # -I: a venv.py or pip/ in the working directory must not shadow the real ones.
        _run([sys.executable, "-I", "-m", "venv", "--without-pip", str(env)], "python -m venv")
        # This Python's pip installs into the venv (--python): no pip bootstrap per environment.
        req_file = env / "requirements.txt"
        req_file.write_text("\n".join([*requirements, *serving_requirements()]) + "\n")
        pip = [
            sys.executable,
            "-I",
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--disable-pip-version-check",
        ]
        _run([*pip, "-q", "-r", str(req_file)], "pip install")
        purelib = _run(
            [str(python), "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], "venv"
        )
        import runyard

        (Path(purelib.strip()) / "runyard").symlink_to(
            Path(runyard.__file__).parent, target_is_directory=True
        )
        (env / READY).write_text(json.dumps({"requirements": requirements}))
        log(f"virtualenv {env} ready")
    return python


def _run(cmd: list[str], what: str) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        lines = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
        raise EnvironmentError_(f"{what} failed: {lines[-1] if lines else f'exit code {done.returncode}'}")
    return done.stdout


def _requirement_lines(text: str) -> list[str]:
    return [s for ln in text.splitlines() if (s := ln.split("#", 1)[0].strip())]


def _yaml_list(text: str, key: str) -> list[str]:
    """The ``- item`` entries under ``key:`` in MLflow's flat python_env.yaml (no YAML library needed)."""
    items: list[str] = []
    inside = False
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith((" ", "-")):
            inside = line.split(":", 1)[0].strip() == key
            continue
        if inside and line.strip().startswith("- "):
            items.append(line.strip()[2:].strip().strip("'\""))
    return items
