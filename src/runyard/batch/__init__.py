"""Batch scoring on Spark: a registered model applied to a folder of CSV or Parquet files.

Needs ``pyspark`` and ``mlflow`` (``pip install 'runyard[spark]' mlflow``); imported only by
``runyard batch`` so the client install stays light.
"""

from runyard.batch.score import BatchError, ScoreResult, score

__all__ = ["BatchError", "ScoreResult", "score"]
