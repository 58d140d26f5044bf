"""``runyard batch score``: score files with a registered model on Spark."""

from __future__ import annotations

import os
import sys
import time

import click

from runyard.cli.batch_jobs import COMMANDS as JOB_COMMANDS


@click.group(short_help="Batch scoring on Spark.")
def batch() -> None:
    """Batch jobs on Spark.

    `score` runs here (needs `pip install 'runyard[spark]'` and mlflow); `submit`, `jobs`, `status`
    and `cancel` ask a Runyard server to run the job for a workspace.
    """


@batch.command("score")
@click.option(
    "--model", "model_uri", required=True, help="A model URI: models:/name@alias, models:/name/3, runs:/..."
)
@click.option(
    "--input", "input_path", required=True, help="A CSV or Parquet file or folder (any Spark path)."
)
@click.option("--output", "output_path", required=True, help="The folder to write the scored rows to.")
@click.option(
    "--master", default="local[*]", show_default=True, help="The Spark master (local[*], yarn, spark://...)."
)
@click.option(
    "--input-format",
    type=click.Choice(["csv", "parquet"]),
    help="Default: from the extension of the input (or of the files in the input folder).",
)
@click.option("--output-format", type=click.Choice(["parquet", "csv"]), default="parquet", show_default=True)
@click.option(
    "--result-column", default="prediction", show_default=True, help="The column the predictions go to."
)
@click.option("--overwrite", is_flag=True, help="Replace the output folder if it exists.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
def score(
    model_uri: str,
    input_path: str,
    output_path: str,
    master: str,
    input_format: str | None,
    output_format: str,
    result_column: str,
    overwrite: bool,
    progress: bool,
) -> None:
    """Score every row of --input with --model and write the rows and the predictions to --output.

    The model is read from MLFLOW_TRACKING_URI with the usual credentials (MLFLOW_TRACKING_AUTH=runyard
    and RUNYARD_CLIENT_ID / RUNYARD_CLIENT_SECRET, RUNYARD_TOKEN or `runyard login`).
    """
    try:
        from runyard.batch import BatchError
        from runyard.batch import score as run_score
    except ImportError as exc:
        raise click.ClickException(
            f"{exc.name} is not installed: pip install 'runyard[spark]' mlflow"
        ) from None

    started = time.perf_counter()
    spark = spark_session(master)
    try:
        result = run_score(
            spark,
            model_uri,
            input_path,
            output_path,
            input_format=input_format,
            output_format=output_format,
            result_column=result_column,
            overwrite=overwrite,
            progress=progress,
        )
    except BatchError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Wrote {result.rows:,} rows to {result.output} ({result.output_format}) in {result.seconds:.1f} s: "
        f"{result.rows_per_second:,.0f} rows/s ({time.perf_counter() - started:.1f} s in all)."
    )


def spark_session(master: str):  # -> pyspark.sql.SparkSession
    """The active session if there is one (inside a notebook or spark-submit), else a new one."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if master.startswith("local") and not os.environ.get("PYSPARK_PYTHON"):
        # Local workers must run this interpreter, the one that has mlflow and the model's libraries
        # (pyspark reads the variable itself; spark.pyspark.python only works through spark-submit).
        os.environ["PYSPARK_PYTHON"] = sys.executable
    builder = SparkSession.builder.master(master).appName("runyard batch score")
    builder = builder.config("spark.sql.execution.arrow.pyspark.enabled", "true").config(
        "spark.ui.showConsoleProgress", "false"
    )
    return builder.getOrCreate()


# submit / jobs / status / cancel: jobs the server runs, through its API (cli/batch_jobs.py).
for _command in JOB_COMMANDS:
    batch.add_command(_command)

__all__ = ["batch"]
