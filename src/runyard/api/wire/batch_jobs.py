"""Batch job messages (/api/2.0/runyard/batch-jobs), in MLflow's JSON style.

Times are milliseconds since the epoch; ``model_version`` is a string as in MLflow's registry.
"""

from __future__ import annotations

from runyard.api.wire.base import Message


class CreateBatchJob(Message):
    model_uri: str | None = None  # models:/name/3, models:/name@alias or models:/name/latest
    input: str | None = None  # a CSV or Parquet file or folder (any Spark path)
    output: str | None = None  # a folder that does not exist yet
    input_format: str | None = None  # csv | parquet; default: from the file names
    output_format: str | None = None  # parquet (default) | csv
    result_column: str | None = None  # default: prediction
    master: str | None = None  # the Spark master; default: local[*]


class BatchJob(Message):
    job_id: str
    workspace: str
    status: str  # queued | running | succeeded | failed | cancelled
    model_uri: str
    model_name: str
    model_version: str
    input: str
    input_format: str
    output: str
    output_format: str
    result_column: str
    master: str
    created_by: str
    creation_time: int
    message: str | None = None
    row_count: int | None = None
    tasks_done: int | None = None
    tasks_total: int | None = None
    start_time: int | None = None
    end_time: int | None = None


class BatchJobResponse(Message):
    job: BatchJob


class ListBatchJobs(Message):
    status: list[str] = []
    max_results: int | None = None
    page_token: str | None = None


class ListBatchJobsResponse(Message):
    jobs: list[BatchJob] = []
    next_page_token: str | None = None


__all__ = ["BatchJob", "BatchJobResponse", "CreateBatchJob", "ListBatchJobs", "ListBatchJobsResponse"]
