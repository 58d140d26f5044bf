"""``runyard batch score``: a registered model applied on Spark to CSV or Parquet files, with clear
errors for a missing model, unreadable input and a schema mismatch."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

from runyard.cli import main

FEATURES = ["f0", "f1", "f2", "f3"]
LARGE_ROWS = 1_000_000


def frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pdf = pd.DataFrame(rng.normal(size=(rows, len(FEATURES))), columns=FEATURES)
    pdf.insert(0, "id", np.arange(rows, dtype=np.int64))
    return pdf


@pytest.fixture(scope="module")
def champion(job):
    """A scikit-learn classifier registered with a signature and the alias ``champion``."""
    train = frame(2_000, seed=1)
    y = (train["f0"] + train["f1"] - train["f2"] > 0).astype(np.int64)
    model = LogisticRegression().fit(train[FEATURES], y)
    name = f"batch-{uuid.uuid4().hex[:6]}"
    mlflow.set_experiment(experiment_name=name)
    with mlflow.start_run():
        labels = pd.Series(model.predict(train[FEATURES]), name="prediction")
        signature = infer_signature(train[FEATURES], labels)
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name=name, signature=signature)
    MlflowClient().set_registered_model_alias(name, "champion", info.registered_model_version)
    return f"models:/{name}@champion", model


def write_parquet_parts(pdf: pd.DataFrame, folder, parts: int) -> None:
    folder.mkdir()
    size = -(-len(pdf) // parts)
    for i in range(parts):
        pdf.iloc[i * size : (i + 1) * size].to_parquet(folder / f"part-{i:02d}.parquet", index=False)


def score(*args: str):
    result = CliRunner().invoke(main, ["batch", "score", *args], catch_exceptions=False)
    return result


def assert_matches_model(out: pd.DataFrame, source: pd.DataFrame, model, sample: int = 2_000) -> None:
    assert len(out) == len(source)
    assert out["prediction"].dtype == np.int64
    assert sorted(out.columns) == sorted([*source.columns, "prediction"])
    picked = out.sample(n=min(sample, len(out)), random_state=0).sort_values("id")
    expected = model.predict(source.set_index("id").loc[picked["id"], FEATURES])
    assert list(picked["prediction"]) == list(expected)


def test_a_million_parquet_rows_match_the_models_own_predict(spark, champion, tmp_path):
    uri, model = champion
    source = frame(LARGE_ROWS, seed=2)
    write_parquet_parts(source, tmp_path / "data", parts=8)

    started = time.perf_counter()
    result = score("--model", uri, "--input", str(tmp_path / "data"), "--output", str(tmp_path / "preds"))
    elapsed = time.perf_counter() - started

    assert result.exit_code == 0, result.output
    assert f"Wrote {LARGE_ROWS:,} rows" in result.output
    assert "rows/s" in result.output
    assert "scoring: 100%" in result.output  # the progress bar over the Spark tasks finished
    assert elapsed < 180, f"{LARGE_ROWS:,} rows took {elapsed:.0f} s"
    assert_matches_model(pd.read_parquet(tmp_path / "preds"), source, model)


def test_csv_in_csv_out(spark, champion, tmp_path):
    uri, model = champion
    source = frame(3_000, seed=3)
    (tmp_path / "data").mkdir()
    source.to_csv(tmp_path / "data" / "rows.csv", index=False)

    result = score(
        "--model", uri, "--input", str(tmp_path / "data"), "--output", str(tmp_path / "preds"),
        "--output-format", "csv", "--no-progress",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    out = pd.concat(pd.read_csv(p) for p in sorted((tmp_path / "preds").glob("*.csv")))
    assert_matches_model(out, source, model)


def test_missing_model_is_a_clear_error(spark, champion, tmp_path):
    source = frame(10, seed=4)
    write_parquet_parts(source, tmp_path / "data", parts=1)
    name = champion[0].split("/")[1].split("@")[0]
    for uri in (f"models:/no-such-model-{uuid.uuid4().hex[:6]}/1", f"models:/{name}@no-such-alias"):
        result = score("--model", uri, "--input", str(tmp_path / "data"), "--output", str(tmp_path / "out"))
        assert result.exit_code == 1
        assert f"model {uri!r} does not exist" in result.output
    assert not (tmp_path / "out").exists()


def test_unreadable_input_is_a_clear_error(spark, champion, tmp_path):
    uri, _ = champion
    missing = tmp_path / "nowhere"
    result = score("--model", uri, "--input", str(missing), "--output", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert f"input {str(missing)!r} does not exist" in result.output

    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "rows.parquet").write_text("this is not parquet\n")
    result = score("--model", uri, "--input", str(tmp_path / "junk"), "--output", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "cannot read input" in result.output or "scoring failed" in result.output

    (tmp_path / "mixed").mkdir()
    (tmp_path / "mixed" / "notes.txt").write_text("hello\n")
    result = score("--model", uri, "--input", str(tmp_path / "mixed"), "--output", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "--input-format" in result.output
    assert not (tmp_path / "out").exists()


def test_schema_mismatch_names_the_missing_columns(spark, champion, tmp_path):
    uri, model = champion
    source = frame(100, seed=5).drop(columns=["f1", "f3"])
    write_parquet_parts(source, tmp_path / "data", parts=1)
    result = score("--model", uri, "--input", str(tmp_path / "data"), "--output", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "missing column(s) f1, f3" in result.output

    wrong_type = frame(100, seed=5).astype({"f2": str})
    write_parquet_parts(wrong_type, tmp_path / "typed", parts=1)
    result = score("--model", uri, "--input", str(tmp_path / "typed"), "--output", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "f2 (model expects double, input has string)" in result.output
    assert not (tmp_path / "out").exists()

    # Integers where the model wants doubles widen without loss, so they are accepted.
    integers = frame(100, seed=5).assign(f0=lambda d: (d.f0 * 10).round().astype(np.int64))
    write_parquet_parts(integers, tmp_path / "integers", parts=1)
    result = score("--model", uri, "--input", str(tmp_path / "integers"), "--output", str(tmp_path / "ok"))
    assert result.exit_code == 0, result.output
    assert_matches_model(pd.read_parquet(tmp_path / "ok"), integers, model)


def test_existing_output_needs_overwrite(spark, champion, tmp_path):
    uri, model = champion
    source = frame(500, seed=6)
    write_parquet_parts(source, tmp_path / "data", parts=2)
    (tmp_path / "preds").mkdir()
    args = ["--model", uri, "--input", str(tmp_path / "data"), "--output", str(tmp_path / "preds")]
    result = score(*args)
    assert result.exit_code == 1
    assert "already exists" in result.output
    result = score(*args, "--overwrite", "--result-column", "label")
    assert result.exit_code == 0, result.output
    out = pd.read_parquet(tmp_path / "preds").rename(columns={"label": "prediction"})
    assert_matches_model(out, source, model)


def test_the_command_line_in_its_own_process(job, champion, tmp_path):
    """What a user types: a fresh `runyard batch score` process with its own local Spark."""
    uri, model = champion
    source = frame(1_000, seed=7)
    source.to_csv(tmp_path / "rows.csv", index=False)
    env = {**os.environ, **job.env}
    command = [sys.executable, "-m", "runyard", "batch", "score", "--model", uri]
    command += ["--input", str(tmp_path / "rows.csv"), "--output", str(tmp_path / "preds")]
    command += ["--master", "local[1]", "--no-progress"]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Wrote 1,000 rows" in proc.stdout
    assert_matches_model(pd.read_parquet(tmp_path / "preds"), source, model)
