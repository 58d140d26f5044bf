"""A real local Spark session per test module, signed in to an auth-on Runyard server as a service
principal of its own workspace — the set-up of a PySpark notebook on a cluster.

The driver gets the credentials from its environment and the executors through
``spark.executorEnv.*``, as the README tells cluster admins to do.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

pytest.importorskip("pyspark")

import mlflow  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402

from tests.support.auth import AuthServer, auth_server  # noqa: E402


@dataclass(frozen=True)
class Job:
    uri: str
    workspace: str
    client_id: str
    client_secret: str

    @property
    def env(self) -> dict[str, str]:
        return {
            "MLFLOW_TRACKING_URI": self.uri,
            "MLFLOW_TRACKING_AUTH": "runyard",
            "RUNYARD_CLIENT_ID": self.client_id,
            "RUNYARD_CLIENT_SECRET": self.client_secret,
        }


@pytest.fixture(scope="session")
def spark_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    with auth_server("sqlite", tmp_path_factory.mktemp("spark-server")) as srv:
        yield srv


@pytest.fixture(scope="module")
def job(spark_server: AuthServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Job]:
    """A workspace, a contributor service principal, and the driver's environment set for them."""
    ws = spark_server.workspace(f"spark-{uuid.uuid4().hex[:8]}")
    client_id, secret = spark_server.service_principal(ws, "notebook", "contributor")
    job = Job(f"{spark_server.url}/w/{ws}", ws, client_id, secret)
    # mlflow.set_*_uri() also export MLFLOW_*_URI for child processes; restore everything so
    # no later test talks to this module's (stopped) server.
    saved_environ = dict(os.environ)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in job.env.items():
            mp.setenv(name, value)
        # pyspark starts Python workers with $PYSPARK_PYTHON (default: python3 on the PATH).
        mp.setenv("PYSPARK_PYTHON", sys.executable)
        mp.setenv("RUNYARD_HOME", str(tmp_path_factory.mktemp("home")))  # no cached login to fall back on
        for name in ("MLFLOW_TRACKING_TOKEN", "RUNYARD_TOKEN", "MLFLOW_TRACKING_USERNAME"):
            mp.delenv(name, raising=False)
        mp.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
        mlflow.set_tracking_uri(job.uri)
        mlflow.set_registry_uri(job.uri)
        try:
            yield job
        finally:
            while mlflow.active_run():
                mlflow.end_run()
            mlflow.set_tracking_uri(None)
            mlflow.set_registry_uri(None)
    os.environ.clear()
    os.environ.update(saved_environ)


@pytest.fixture(scope="module")
def spark(job: Job) -> Iterator[SparkSession]:
    """``local[2]``, few shuffle partitions, no UI; the credentials reach executors via executorEnv."""
    builder = (
        SparkSession.builder.master("local[2]")
        .appName("runyard-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
    )
    for name, value in job.env.items():
        builder = builder.config(f"spark.executorEnv.{name}", value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


__all__ = ["Job"]
