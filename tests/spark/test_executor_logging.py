"""Spark tasks logging from the executors with MlflowClient: every task of a ``mapInPandas`` job
logs to the same run, and each partition to a child run of its own, concurrently; nothing is lost.

The executors are signed in only through ``spark.executorEnv.*`` (see conftest.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import mlflow
import pandas as pd
from mlflow import MlflowClient
from pyspark.sql.functions import spark_partition_id

PARTITIONS = 8
ROWS_PER_PARTITION = 25


def test_tasks_log_metrics_to_one_run_and_to_child_runs(job, spark):
    exp = mlflow.set_experiment(experiment_name=f"executors-{uuid.uuid4().hex[:6]}")
    with mlflow.start_run() as parent:
        run_id, experiment_id = parent.info.run_id, exp.experiment_id

        def log_from_task(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            import os

            from mlflow import MlflowClient
            from mlflow.entities import Metric

            client = MlflowClient()  # MLFLOW_TRACKING_URI and the credentials come from executorEnv
            for batch in batches:
                if batch.empty:
                    continue
                part = int(batch["part"].iloc[0])
                child = client.create_run(
                    experiment_id, tags={"mlflow.parentRunId": run_id, "partition": str(part)}
                )
                for step, row in enumerate(batch.itertuples()):
                    client.log_metric(run_id, f"loss_p{part}", row.value, step=step)
                client.log_batch(
                    child.info.run_id,
                    metrics=[Metric("loss", r.value, 0, i) for i, r in enumerate(batch.itertuples())],
                )
                client.set_terminated(child.info.run_id)
                yield pd.DataFrame({"part": [part], "rows": [len(batch)], "pid": [os.getpid()]})

        data = (
            spark.range(PARTITIONS * ROWS_PER_PARTITION, numPartitions=PARTITIONS)
            .selectExpr("id", "CAST(id AS DOUBLE) / 1000 AS value")
            .withColumn("part", spark_partition_id())
        )
        done = data.mapInPandas(log_from_task, "part INT, rows LONG, pid LONG").toPandas()

    assert sorted(done["part"]) == list(range(PARTITIONS))
    assert done["pid"].nunique() >= 2  # two Python workers ran tasks at the same time
    client = MlflowClient()
    run = client.get_run(run_id)
    assert len(run.data.metrics) == PARTITIONS
    for part in range(PARTITIONS):
        history = client.get_metric_history(run_id, f"loss_p{part}")
        assert [m.step for m in sorted(history, key=lambda m: m.step)] == list(range(ROWS_PER_PARTITION))
    children = client.search_runs(
        [experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run_id}'", max_results=100
    )
    assert sorted(int(c.data.tags["partition"]) for c in children) == list(range(PARTITIONS))
    for child in children:
        assert child.info.status == "FINISHED"
        assert len(client.get_metric_history(child.info.run_id, "loss")) == ROWS_PER_PARTITION
    first = [m.value for m in client.get_metric_history(run_id, "loss_p0")]
    assert sorted(first) == [i / 1000 for i in range(ROWS_PER_PARTITION)]
