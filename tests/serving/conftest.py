"""Serving fixtures: real saved models and one runner whose real scoring processes the tests share.

Every scoring process costs seconds of CPU to import MLflow and load its model, so the fleet is
started once per session, all deployments at once, and each test file uses the ones it needs.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runyard.serving.runner import DeploymentSpec, LocalProcessRunner

IRIS_COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
SLOW_SLEEP_S = 0.5


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scikit-learn iris model, a counting pyfunc model, and an sklearn model missing its file."""
    import mlflow.pyfunc
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    root = tmp_path_factory.mktemp("models")
    x, y = load_iris(return_X_y=True, as_frame=True)
    x = x.astype("float64")
    clf = LogisticRegression(max_iter=300).fit(x, y)
    mlflow.sklearn.save_model(clf, root / "iris", signature=infer_signature(x, clf.predict(x)))

    sample = x.head(1)  # the counting model takes iris rows too, so a mirror can get the same body
    mlflow.pyfunc.save_model(
        root / "counting",
        python_model=str(Path(__file__).with_name("counting_model.py")),
        signature=infer_signature(sample, ["counted"], params={"answer": "counted"}),
    )

    shutil.copytree(root / "iris", root / "broken")
    for f in (root / "broken").iterdir():
        if f.name.startswith("model."):
            f.unlink()
    return root


@dataclass
class Fleet:
    runner: LocalProcessRunner
    specs: dict[str, DeploymentSpec]
    slow_count_file: Path

    def url(self, name: str) -> str:
        status = self.runner.status(self.specs[name].key)
        assert status.state == "ready", (name, status, self.runner.logs(self.specs[name].key, 30))
        assert status.url is not None
        return status.url


def wait_for(runner: LocalProcessRunner, key: str, states: set[str], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if runner.status(key).state in states:
            return
        time.sleep(0.05)
    raise AssertionError(f"{key} not in {states}: {runner.status(key)}\n" + "\n".join(runner.logs(key, 40)))


@pytest.fixture(scope="session")
def fleet(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """blue, green (iris), slow (counting, 0.5 s per call) and broken (cannot load), started together."""
    state = tmp_path_factory.mktemp("serving-state")
    count_file = state / "slow-calls"
    specs = {
        "blue": DeploymentSpec("1.churn.blue", models_dir / "iris"),
        "green": DeploymentSpec("1.churn.green", models_dir / "iris"),
        "slow": DeploymentSpec(
            "1.churn.slow",
            models_dir / "counting",
            environment={
                "RUNYARD_TEST_COUNT_FILE": str(count_file),
                "RUNYARD_TEST_SLEEP_S": str(SLOW_SLEEP_S),
            },
        ),
        "broken": DeploymentSpec("1.churn.broken", models_dir / "broken"),
    }
    runner = LocalProcessRunner(state / "runner", max_backoff_s=2.0)
    try:
        for spec in specs.values():
            runner.deploy(spec)
        for name, spec in specs.items():
            wait_for(runner, spec.key, {"failed"} if name == "broken" else {"ready"})
        yield Fleet(runner, specs, count_file)
    finally:
        runner.close()
