"""``mlflow.pyspark.ml.autolog()`` around a CrossValidator: a parent run with the search's results
and one child run per parameter map, each with its params and metrics."""

from __future__ import annotations

import uuid

import mlflow
import mlflow.artifacts
import mlflow.pyspark.ml
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.tuning import CrossValidator, ParamGridBuilder


def test_cross_validator_parent_and_one_child_run_per_param_map(job, spark):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 2))
    pdf = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "label": (x[:, 0] - x[:, 1] > 0).astype(float)})
    data = VectorAssembler(inputCols=["x1", "x2"], outputCol="features").transform(spark.createDataFrame(pdf))
    lr = LogisticRegression(maxIter=5)
    grid = ParamGridBuilder().addGrid(lr.regParam, [0.0, 0.5]).addGrid(lr.elasticNetParam, [0.0, 1.0]).build()
    cv = CrossValidator(
        estimator=lr, estimatorParamMaps=grid, evaluator=BinaryClassificationEvaluator(), numFolds=2, seed=1
    )
    exp = mlflow.set_experiment(experiment_name=f"cv-{uuid.uuid4().hex[:6]}")

    mlflow.pyspark.ml.autolog(log_models=False, log_datasets=False)
    try:
        with mlflow.start_run() as parent:
            cv_model = cv.fit(data)
    finally:
        mlflow.pyspark.ml.autolog(disable=True)

    client = MlflowClient()
    parent_run = client.get_run(parent.info.run_id)
    assert parent_run.data.params["numFolds"] == "2"
    assert parent_run.data.params["estimator"] == "LogisticRegression"
    best = mlflow.artifacts.load_dict(f"runs:/{parent.info.run_id}/best_parameters.json")
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"best_parameters.json", "search_results.csv"} <= artifacts
    best_index = int(np.argmax(cv_model.avgMetrics))
    assert parent_run.data.params["best_LogisticRegression.regParam"] == str(
        best["LogisticRegression.regParam"]
    )

    children = client.search_runs(
        [exp.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    assert len(children) == 4
    by_params = {
        (float(c.data.params["regParam"]), float(c.data.params["elasticNetParam"])): c for c in children
    }
    assert set(by_params) == {(0.0, 0.0), (0.0, 1.0), (0.5, 0.0), (0.5, 1.0)}
    for i, param_map in enumerate(grid):
        values = {p.name: v for p, v in param_map.items()}
        child = by_params[(values["regParam"], values["elasticNetParam"])]
        assert child.data.metrics["avg_areaUnderROC"] == cv_model.avgMetrics[i]
        assert child.data.metrics["std_areaUnderROC"] == cv_model.stdMetrics[i]
        assert child.data.params["maxIter"] == "5"
        assert child.info.status == "FINISHED"
    assert by_params[(0.0, 0.0)].data.metrics["avg_areaUnderROC"] >= 0.9
    assert best_index in range(4)
