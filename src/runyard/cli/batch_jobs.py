"""``runyard batch submit | jobs | status | cancel``: batch jobs run by a Runyard server, through its API."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import click

from runyard.cli.connect import api_command, echo_table, workspace_option

if TYPE_CHECKING:
    from runyard.client.api import RunyardAPI

_PATH = "/api/2.0/runyard/batch-jobs"
_FINAL = ("succeeded", "failed", "cancelled")
_STATUSES = ("queued", "running", *_FINAL)


def _when(ms: int | None) -> str | None:
    return None if not ms else time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000))


def _describe(job: dict[str, Any]) -> None:
    click.echo(f"Job {job['job_id']}: {job['status']}")
    model = f"{job['model_uri']} (= {job['model_name']} version {job['model_version']})"
    for label, value in (
        ("model", model),
        ("input", f"{job['input']} ({job['input_format']})"),
        ("output", f"{job['output']} ({job['output_format']})"),
        ("rows", f"{job['row_count']:,}" if job.get("row_count") is not None else None),
        ("submitted", f"{_when(job['creation_time'])} UTC by {job['created_by']}"),
        ("started", _when(job.get("start_time"))),
        ("ended", _when(job.get("end_time"))),
        ("message", job.get("message")),
    ):
        if value:
            click.echo(f"  {label + ':':<11}{value}")


def _wait(api: RunyardAPI, workspace: str | None, job_id: str, interval: float, progress: bool) -> dict:
    """Poll until the job ends, with a bar over its Spark tasks (their count grows as stages appear)."""
    from tqdm import tqdm

    bar = tqdm(total=0, unit="task", desc="queued", dynamic_ncols=True, disable=not progress)
    try:
        while True:
            job = api.request("GET", f"{_PATH}/{job_id}", workspace=workspace)["job"]
            done, total = job.get("tasks_done") or 0, job.get("tasks_total") or 0
            if job["status"] == "succeeded":
                done = total = max(total, done, 1)
            bar.set_description(job["status"])
            if (total, done) != (bar.total, bar.n):
                bar.total, bar.n = max(total, done), done
                bar.refresh()
            if job["status"] in _FINAL:
                return job
            time.sleep(interval)
    finally:
        bar.close()


def _finish(
    api: RunyardAPI, workspace: str | None, job: dict, wait: bool, interval: float, bar: bool
) -> None:
    if wait and job["status"] not in _FINAL:
        job = _wait(api, workspace, job["job_id"], interval, bar)
    _describe(job)
    if wait and job["status"] in ("failed", "cancelled"):  # scripts that wait learn the outcome
        click.get_current_context().exit(1)


_wait_options = [
    click.option(
        "--wait", is_flag=True, help="Wait until the job ends (exit status 1 if it did not succeed)."
    ),
    click.option("--interval", default=1.0, show_default=True, help="Seconds between polls with --wait."),
    click.option(
        "--progress/--no-progress", default=True, show_default=True, help="A progress bar with --wait."
    ),
]


def _with_wait(fn):  # noqa: ANN001, ANN202 - a click command function
    for option in reversed(_wait_options):
        fn = option(fn)
    return fn


@click.command("submit")
@click.option(
    "--model", "model_uri", required=True, help="models:/name@alias, models:/name/3 or models:/name/latest."
)
@click.option(
    "--input", "input_path", required=True, help="A CSV or Parquet file or folder, as the server sees it."
)
@click.option("--output", "output_path", required=True, help="A new folder for the scored rows.")
@click.option("--input-format", type=click.Choice(["csv", "parquet"]), help="Default: from the file names.")
@click.option("--output-format", type=click.Choice(["parquet", "csv"]), help="Default: parquet.")
@click.option("--result-column", help="The column the predictions go to (default: prediction).")
@click.option("--master", help="The Spark master the server uses (default: local[*]).")
@workspace_option(required=False, help="The workspace (default: the server's default workspace).")
@_with_wait
@api_command
def submit(
    api: RunyardAPI,
    model_uri: str,
    input_path: str,
    output_path: str,
    input_format: str | None,
    output_format: str | None,
    result_column: str | None,
    master: str | None,
    workspace: str | None,
    wait: bool,
    interval: float,
    progress: bool,
) -> None:
    """Submit a batch scoring job to the server, which runs it on Spark in a process of its own.

    Paths are read and written by the server (local paths must be under its --batch-roots;
    hdfs://, s3a://... paths go to the cluster). The model version is fixed when the job is
    submitted: moving the alias afterwards does not change what the job scores.
    """
    body = {
        "model_uri": model_uri,
        "input": input_path,
        "output": output_path,
        "input_format": input_format,
        "output_format": output_format,
        "result_column": result_column,
        "master": master,
    }
    job = api.request("POST", _PATH, json={k: v for k, v in body.items() if v}, workspace=workspace)["job"]
    click.echo(f"Submitted batch job {job['job_id']}.", err=True)
    if not wait:
        click.echo(job["job_id"])
        return
    _finish(api, workspace, job, wait, interval, progress)


@click.command("jobs")
@workspace_option(required=False, help="The workspace (default: the server's default workspace).")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(_STATUSES),
    help="Only jobs in this status (repeatable).",
)
@click.option("--max-results", default=50, show_default=True, help="How many jobs to show (newest first).")
@api_command
def jobs(api: RunyardAPI, workspace: str | None, statuses: tuple[str, ...], max_results: int) -> None:
    """List the batch jobs of a workspace, newest first."""
    params = {"max_results": max_results, "status": list(statuses)}
    found = api.request("GET", _PATH, params=params, workspace=workspace).get("jobs", [])
    echo_table(
        found,
        [
            ("JOB ID", "job_id"),
            ("STATUS", "status"),
            ("MODEL", lambda j: f"{j['model_name']}/{j['model_version']}"),
            ("ROWS", "row_count"),
            ("OUTPUT", "output"),
            ("SUBMITTED (UTC)", lambda j: _when(j["creation_time"])),
            ("BY", "created_by"),
        ],
        "No batch jobs.",
    )


@click.command("status")
@click.argument("job_id")
@workspace_option(required=False, help="The workspace (default: the server's default workspace).")
@_with_wait
@api_command
def status(
    api: RunyardAPI, job_id: str, workspace: str | None, wait: bool, interval: float, progress: bool
) -> None:
    """Show a batch job: status, rows written, output location, and why it failed if it did."""
    job = api.request("GET", f"{_PATH}/{job_id}", workspace=workspace)["job"]
    _finish(api, workspace, job, wait, interval, progress)


@click.command("cancel")
@click.argument("job_id")
@workspace_option(required=False, help="The workspace (default: the server's default workspace).")
@api_command
def cancel(api: RunyardAPI, job_id: str, workspace: str | None) -> None:
    """Cancel a queued or running batch job (a running one's Spark process is stopped)."""
    job = api.request("POST", f"{_PATH}/{job_id}/cancel", workspace=workspace)["job"]
    _describe(job)


COMMANDS = (submit, jobs, status, cancel)

__all__ = ["COMMANDS"]
