"""A pyfunc model (MLflow "models from code") whose calls a test can count and slow down.

Environment of the scoring process: RUNYARD_TEST_COUNT_FILE gets one line per predict call,
RUNYARD_TEST_SLEEP_S delays each call; the answer is the ``answer`` param (default "counted"),
or with ``answer`` "string-storage" how pandas stores the input's column names.
"""

from __future__ import annotations

import os
import time

import mlflow


class CountingModel(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):  # noqa: ANN001, ANN201
        path = os.environ.get("RUNYARD_TEST_COUNT_FILE")
        if path:
            with open(path, "a") as f:
                f.write(f"{len(model_input)}\n")
        time.sleep(float(os.environ.get("RUNYARD_TEST_SLEEP_S", "0")))
        answer = (params or {}).get("answer", "counted")
        if answer == "string-storage":
            answer = str(getattr(model_input.columns.dtype, "storage", model_input.columns.dtype))
        return [answer] * len(model_input)


mlflow.models.set_model(CountingModel())
