"""The seed workflow of a PySpark notebook: an experiment, params, metrics, an artifact, a Spark
MLlib pipeline logged and registered twice (versions 1 and 2), then scored with spark_udf by
version and by alias."""

from __future__ import annotations

import uuid

import mlflow
import mlflow.spark
import numpy as np
import pandas as pd
import pyspark
import pytest
from mlflow import MlflowClient
from mlflow.models import infer_signature
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import VectorAssembler


@pytest.fixture(scope="module")
def training(spark):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(400, 2))
    label = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(float)
    pdf = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "label": label})
    return spark.createDataFrame(pdf).cache()


@pytest.fixture(scope="module")
def fitted(training):
    """The notebook's training step, done once per regularisation for the whole module."""
    return {reg: pipeline(reg).fit(training) for reg in (0.0, 1.0)}


def pipeline(reg_param: float) -> Pipeline:
    return Pipeline(
        stages=[
            VectorAssembler(inputCols=["x1", "x2"], outputCol="features"),
            LogisticRegression(maxIter=10, regParam=reg_param),
        ]
    )


def log_and_register(training, model, name: str, tmp_path):
    """What the notebook cell does: log a run and register the fitted pipeline."""
    reg_param = model.stages[-1].getRegParam()
    notes = tmp_path / "notes.md"
    notes.write_text(f"regParam={reg_param}\n")
    with mlflow.start_run() as run:
        mlflow.log_param("regParam", reg_param)
        scored = model.transform(training)
        accuracy = scored.filter(scored.label == scored.prediction).count() / training.count()
        mlflow.log_metric("accuracy", accuracy)
        mlflow.log_artifact(str(notes))
        features = training.select("x1", "x2").limit(20).toPandas()
        signature = infer_signature(features, model.transform(training.limit(20)).toPandas()["prediction"])
        info = mlflow.spark.log_model(
            model,
            artifact_path="model",
            registered_model_name=name,
            signature=signature,
            # Listed, because inferring them boots a second Spark in a subprocess (~20 s per model).
            pip_requirements=[f"pyspark=={pyspark.__version__}"],
        )
    return run, model, info


def test_seed_workflow_registers_version_1_then_2(job, training, fitted, tmp_path):
    name = f"churn-{uuid.uuid4().hex[:6]}"
    exp = mlflow.set_experiment(experiment_name=f"synapse-{name}")

    run1, _, info1 = log_and_register(training, fitted[1.0], name, tmp_path)
    run2, _, info2 = log_and_register(training, fitted[0.0], name, tmp_path)

    assert (info1.registered_model_version, info2.registered_model_version) == ("1", "2")
    client = MlflowClient()
    versions = {v.version: v for v in client.search_model_versions(f"name = '{name}'")}
    assert sorted(versions) == ["1", "2"]
    assert versions["1"].run_id == run1.info.run_id and versions["2"].run_id == run2.info.run_id
    runs = mlflow.search_runs([exp.experiment_id], order_by=["params.regParam"])
    assert list(runs["params.regParam"]) == ["0.0", "1.0"]
    assert (runs["metrics.accuracy"] > 0.8).all()
    assert "notes.md" in [a.path for a in client.list_artifacts(run2.info.run_id)]
    loaded = mlflow.spark.load_model(f"models:/{name}/2")
    assert loaded.stages[-1].getRegParam() == 0.0


def test_spark_udf_by_version_and_alias(job, spark, training, fitted, tmp_path):
    name = f"scorer-{uuid.uuid4().hex[:6]}"
    mlflow.set_experiment(experiment_name=f"synapse-{name}")
    log_and_register(training, fitted[1.0], name, tmp_path)
    _, model, _ = log_and_register(training, fitted[0.0], name, tmp_path)
    MlflowClient().set_registered_model_alias(name, "champion", "2")

    data = training.select("x1", "x2").coalesce(1)  # one Python worker boots one JVM to load the model
    expected = [r.prediction for r in model.transform(data).select("prediction").collect()]
    for uri in (f"models:/{name}/2", f"models:/{name}@champion"):
        udf = mlflow.pyfunc.spark_udf(spark, uri, env_manager="local")
        got = [r.p for r in data.withColumn("p", udf("x1", "x2")).select("p").collect()]
        assert got == expected, uri
