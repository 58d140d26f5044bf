"""Score a folder of CSV or Parquet files with a registered model through ``mlflow.pyfunc.spark_udf``."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from runyard.batch.progress import SparkProgress

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

FORMATS = ("csv", "parquet")


class BatchError(Exception):
    """A problem the user can fix (missing model, unreadable input, schema mismatch...)."""


@dataclass(frozen=True)
class ScoreResult:
    rows: int
    seconds: float  # reading, scoring and writing (the Spark jobs), not session start nor model load
    output: str
    output_format: str

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


def _local_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file") or (len(parsed.scheme) == 1 and os.name == "nt"):
        return Path(parsed.path if parsed.scheme == "file" else uri)
    return None


def detect_format(path: str) -> str:
    """``csv`` or ``parquet`` from the extension of ``path`` or of the files in the folder ``path``."""
    local = _local_path(path)
    names = [path]
    if local is not None and local.is_dir():
        names = [p.name for p in local.iterdir() if p.is_file() and not p.name.startswith(("_", "."))]
    found = {fmt for name in names for fmt in FORMATS if name.lower().endswith(f".{fmt}")}
    if len(found) == 1:
        return found.pop()
    if local is None and not found:
        return "parquet"
    raise BatchError(
        f"cannot tell the format of {path!r} from its file names "
        f"({'both csv and parquet' if found else 'no .csv or .parquet files'}); "
        "pass --input-format csv|parquet"
    )


def _model_info(model_uri: str):  # -> mlflow.models.model.ModelInfo
    from mlflow.exceptions import MlflowException
    from mlflow.models import get_model_info

    try:
        return get_model_info(model_uri)
    except MlflowException as exc:
        # MLflow answers an unknown alias with INVALID_PARAMETER_VALUE "... alias x not found."
        unknown_alias = exc.error_code == "INVALID_PARAMETER_VALUE" and "alias" in exc.message
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST" or (unknown_alias and "not found" in exc.message):
            raise BatchError(f"model {model_uri!r} does not exist: {exc.message}") from None
        raise BatchError(f"cannot load model {model_uri!r}: {exc.message}") from None


def _read(spark: SparkSession, path: str, fmt: str) -> DataFrame:
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import AnalysisException

    try:
        if fmt == "parquet":
            return spark.read.parquet(path)
        # Inferred so that the other columns keep their types in the output; the model's own are
        # cast to its signature afterwards.
        return spark.read.option("header", True).option("inferSchema", True).csv(path)
    except (AnalysisException, Py4JJavaError) as exc:  # e.g. a corrupt Parquet footer
        raise BatchError(f"cannot read input {path!r} as {fmt}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    java = getattr(exc, "java_exception", None)  # Py4JJavaError's own text is "An error occurred..."
    text = str(java.toString() if java is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _conform(df: DataFrame, input_schema, model_uri: str, fmt: str) -> tuple[DataFrame, list[str]]:
    """The input with the model's columns cast to the signature's types, and those column names.

    Raises BatchError naming every missing column or column of an unusable type.
    """
    from pyspark.sql.types import FractionalType, IntegralType, LongType, NumericType, StringType

    if input_schema is None or not input_schema.has_input_names():
        return df, list(df.columns)
    names = input_schema.input_names()
    required = set(input_schema.required_input_names())
    missing = [n for n in names if n in required and n not in df.columns]
    if missing:
        raise BatchError(
            f"input is missing column(s) {', '.join(missing)} that model {model_uri!r} needs "
            f"(model inputs: {', '.join(names)}; input columns: {', '.join(df.columns)})"
        )
    types = {f.name: f.dataType for f in df.schema.fields}
    casts, bad = {}, []
    for spec in input_schema.inputs:
        want = _spark_type(spec)
        have = types.get(spec.name)
        if have is None or want is None or type(have) is type(want):
            continue
        from_csv_text = fmt == "csv" and isinstance(have, StringType)
        # Only widening casts: a double column fed to an integer input would be silently truncated.
        widening = isinstance(have, NumericType) and (
            isinstance(want, FractionalType)
            or (isinstance(want, LongType) and isinstance(have, IntegralType))
        )
        if from_csv_text or widening:
            casts[spec.name] = want
        else:
            bad.append(f"{spec.name} (model expects {want.simpleString()}, input has {have.simpleString()})")
    if bad:
        raise BatchError(f"input columns do not match model {model_uri!r}: {'; '.join(bad)}")
    if casts:
        df = df.select(*[df[c].cast(casts[c]).alias(c) if c in casts else df[c] for c in df.columns])
    return df, [n for n in names if n in types]


def _spark_type(spec):  # -> pyspark DataType | None
    from mlflow.types.schema import DataType

    return spec.type.to_spark() if isinstance(spec.type, DataType) else None


def score(
    spark: SparkSession,
    model_uri: str,
    input_path: str,
    output_path: str,
    *,
    input_format: str | None = None,
    output_format: str = "parquet",
    result_column: str = "prediction",
    overwrite: bool = False,
    progress: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
) -> ScoreResult:
    """Apply ``model_uri`` to every row of ``input_path`` and write the rows plus ``result_column``."""
    import mlflow.pyfunc
    from pyspark.sql.types import ArrayType, MapType, StructType

    if output_format not in FORMATS:
        raise BatchError(f"unknown output format {output_format!r}; use csv or parquet")
    local_in = _local_path(input_path)
    if local_in is not None and not local_in.exists():
        raise BatchError(f"input {input_path!r} does not exist")
    fmt = input_format or detect_format(input_path)
    if fmt not in FORMATS:
        raise BatchError(f"unknown input format {fmt!r}; use csv or parquet")
    info = _model_info(model_uri)
    input_schema = info.signature.inputs if info.signature else None
    df, columns = _conform(_read(spark, input_path, fmt), input_schema, model_uri, fmt)
    if result_column in df.columns:
        raise BatchError(f"input already has a column {result_column!r}; choose another with --result-column")
    local_out = _local_path(output_path)
    if local_out is not None and local_out.exists() and not overwrite:
        raise BatchError(f"output {output_path!r} already exists; remove it or pass --overwrite")

    udf = mlflow.pyfunc.spark_udf(spark, model_uri, env_manager="local")
    scored = df.withColumn(result_column, udf(*columns))
    if output_format == "csv" and isinstance(
        scored.schema[result_column].dataType, ArrayType | MapType | StructType
    ):
        raise BatchError(
            f"CSV cannot hold {scored.schema[result_column].dataType.simpleString()} predictions; "
            "use --output-format parquet"
        )
    writer = scored.write.mode("overwrite" if overwrite else "errorifexists")
    if output_format == "csv":
        writer = writer.option("header", True)

    sc = spark.sparkContext
    group = f"runyard-batch-{uuid.uuid4().hex[:8]}"
    sc.setJobGroup(group, f"runyard batch score {model_uri}")
    start = time.perf_counter()
    try:
        with SparkProgress(sc, group, enabled=progress, on_progress=on_progress):
            writer.format(output_format).save(output_path)
    except BatchError:
        raise
    except Exception as exc:
        raise BatchError(f"scoring failed: {_first_line(exc)}") from exc
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    seconds = time.perf_counter() - start
    # Parquet counts come from the file footers; CSV needs one more (cheap, scoring-free) pass.
    reader = spark.read.option("header", True) if output_format == "csv" else spark.read
    rows = reader.format(output_format).load(output_path).count()
    return ScoreResult(rows=rows, seconds=seconds, output=output_path, output_format=output_format)


__all__ = ["BatchError", "ScoreResult", "detect_format", "score"]
