"""Batch jobs through the API of a real auth-on server: the server scores on Spark in a child
process, and status, output location and rows are queryable and listed on the workspace.

One big job runs in the background of the whole module (submitted first, checked last) while the
cheap checks — access, bad input, listing, cancel — run beside it. It has 100,000 rows to keep CI
fast (the 1,000,000-row check of issue 4 is test_batch_cli.py's, through the same scoring code);
BATCH_JOB_ROWS=1000000 runs it at full size and prints the throughput.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
import requests
from click.testing import CliRunner
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

from runyard.cli import main
from tests.spark.test_batch_cli import FEATURES, assert_matches_model, frame, write_parquet_parts
from tests.support.auth import Api, AuthServer, auth_server
from tests.support.server import RunyardServer

JOBS = "/2.0/runyard/batch-jobs"
LARGE_ROWS = int(os.environ.get("BATCH_JOB_ROWS", "100000"))
FINAL = ("succeeded", "failed", "cancelled")


@dataclass
class World:
    srv: AuthServer
    ws: str
    contributor: Api
    reader: Api
    outsider: Api  # a contributor of another workspace
    contributor_token: str
    data: Path  # the server's batch root
    model: Any
    name: str
    big_job: str
    source: pd.DataFrame


def _api(srv: AuthServer, token: str, ws: str) -> Api:
    return Api(srv.url, token, ws)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("batch-jobs")
    data = tmp / "data"
    data.mkdir()
    with auth_server("sqlite", tmp, "--batch-roots", str(data), "--batch-concurrency", "2") as srv:
        admin = Api(srv.url, srv.admin_token)
        ws, other = f"bj-{uuid.uuid4().hex[:6]}", f"bj-other-{uuid.uuid4().hex[:6]}"
        admin.create_workspace(ws)
        admin.create_workspace(other)
        tokens = {}
        for user, space, role in (
            ("bj-alice", ws, "contributor"),
            ("bj-rita", ws, "reader"),
            ("bj-omar", other, "contributor"),
        ):
            tokens[user] = admin.add_user(user)
            admin.grant(space, user, role)
        name, model = _register(srv.url, ws, tokens["bj-alice"])
        source = frame(LARGE_ROWS, seed=11)
        write_parquet_parts(source, data / "big", parts=8)
        alice = _api(srv, tokens["bj-alice"], ws)
        body = {
            "model_uri": f"models:/{name}@champion",
            "input": str(data / "big"),
            "output": str(data / "big-out"),
        }
        submitted = alice.ok("POST", JOBS, json=body)["job"]
        yield World(
            srv,
            ws,
            alice,
            _api(srv, tokens["bj-rita"], ws),
            _api(srv, tokens["bj-omar"], other),
            tokens["bj-alice"],
            data,
            model,
            name,
            submitted["job_id"],
            source,
        )


def _register(url: str, ws: str, token: str) -> tuple[str, Any]:
    """A scikit-learn classifier with a signature, registered as version 1 with alias ``champion``."""
    train = frame(2_000, seed=1)
    y = (train["f0"] + train["f1"] - train["f2"] > 0).astype(np.int64)
    model = LogisticRegression().fit(train[FEATURES], y)
    name = f"bj-model-{uuid.uuid4().hex[:6]}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_TOKEN", token)
        for var in ("MLFLOW_TRACKING_AUTH", "MLFLOW_EXPERIMENT_ID", "RUNYARD_CLIENT_ID", "RUNYARD_TOKEN"):
            mp.delenv(var, raising=False)
        mlflow.set_tracking_uri(f"{url}/w/{ws}")
        mlflow.set_registry_uri(f"{url}/w/{ws}")
        try:
            mlflow.set_experiment(experiment_name=name)
            with mlflow.start_run():
                signature = infer_signature(train[FEATURES], pd.Series(model.predict(train[FEATURES])))
                info = mlflow.sklearn.log_model(
                    model,
                    name="model",
                    registered_model_name=name,
                    signature=signature,
                    pip_requirements=["scikit-learn"],  # not inferred in a subprocess: faster
                )
            MlflowClient().set_registered_model_alias(name, "champion", info.registered_model_version)
        finally:
            mlflow.set_tracking_uri(None)
            mlflow.set_registry_uri(None)
    return name, model


def _wait_for(api: Api, job_id: str, statuses: tuple[str, ...], timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = api.ok("GET", f"{JOBS}/{job_id}")["job"]
        if job["status"] in statuses or time.monotonic() > deadline:
            return job
        time.sleep(0.25)


def _cli(world: World, *args: str):
    base = ["--server", world.srv.url, "--token", world.contributor_token, "-w", world.ws]
    return CliRunner().invoke(main, ["batch", *args, *base], catch_exceptions=False)


def _error(r: requests.Response) -> tuple[int, str, str]:
    body = r.json()
    return r.status_code, body["error_code"], body["message"]


# -- cancel, while the big job holds one of the two slots ---------------------------------
def test_cancel_a_running_and_a_queued_job(world):
    assert _wait_for(world.contributor, world.big_job, ("running", *FINAL))["status"] == "running"
    small = frame(1_000, seed=3)
    write_parquet_parts(small, world.data / "small", parts=1)

    result = _cli(world, "submit", "--model", f"models:/{world.name}/1", "--input", str(world.data / "small"),
                  "--output", str(world.data / "cancelled-out"))  # fmt: skip
    assert result.exit_code == 0, result.output
    running_id = result.stdout.strip().splitlines()[-1]
    assert _wait_for(world.contributor, running_id, ("running", *FINAL))["status"] == "running"

    # Both slots are busy now, so the next job waits in the queue.
    body = {"model_uri": f"models:/{world.name}/latest", "input": str(world.data / "small"),
            "output": str(world.data / "never-out")}  # fmt: skip
    queued = world.contributor.ok("POST", JOBS, json=body)["job"]
    assert queued["status"] == "queued" and queued["model_version"] == "1"
    cancelled = world.contributor.ok("POST", f"{JOBS}/{queued['job_id']}/cancel")["job"]
    assert cancelled["status"] == "cancelled" and "start_time" not in cancelled
    assert cancelled["message"] == "Cancelled by bj-alice."

    result = _cli(world, "cancel", running_id)
    assert result.exit_code == 0, result.output
    assert "cancelled" in result.output and "Partial output may remain" in result.output

    r = world.contributor.request("POST", f"{JOBS}/{running_id}/cancel")
    assert _error(r)[:2] == (400, "INVALID_STATE") and "already cancelled" in _error(r)[2]


# -- access ---------------------------------------------------------------------------------
def test_a_reader_can_look_but_not_submit_or_cancel(world):
    body = {
        "model_uri": f"models:/{world.name}/1",
        "input": str(world.data / "big"),
        "output": str(world.data / "x"),
    }
    status, code, message = _error(world.reader.request("POST", JOBS, json=body))
    assert (status, code) == (403, "PERMISSION_DENIED") and "contributor" in message
    assert _error(world.reader.request("POST", f"{JOBS}/{world.big_job}/cancel"))[:2] == (
        403,
        "PERMISSION_DENIED",
    )
    assert world.reader.ok("GET", f"{JOBS}/{world.big_job}")["job"]["job_id"] == world.big_job
    assert world.big_job in [j["job_id"] for j in world.reader.ok("GET", JOBS)["jobs"]]


def test_a_member_of_another_workspace_cannot_see_the_job(world):
    uniform = (
        404,
        "RESOURCE_DOES_NOT_EXIST",
        f"Workspace '{world.ws}' does not exist or you do not have access to it.",
    )
    peek = world.outsider.in_workspace(world.ws)
    assert _error(peek.request("GET", f"{JOBS}/{world.big_job}")) == uniform
    assert _error(peek.request("GET", JOBS)) == uniform
    # In their own workspace the id names nothing, and the list is theirs alone.
    status, code, message = _error(world.outsider.request("GET", f"{JOBS}/{world.big_job}"))
    assert (status, code) == (404, "RESOURCE_DOES_NOT_EXIST") and "No batch job" in message
    assert world.outsider.ok("GET", JOBS).get("jobs", []) == []


# -- bad input is refused at submit time ----------------------------------------------------
def test_bad_requests_are_mlflow_errors(world):
    good = {
        "model_uri": f"models:/{world.name}/1",
        "input": str(world.data / "big"),
        "output": str(world.data / "y"),
    }
    cases = [
        ({"model_uri": "models:/no-such-model/1"}, 404, "RESOURCE_DOES_NOT_EXIST", "no-such-model"),
        ({"model_uri": f"models:/{world.name}/7"}, 404, "RESOURCE_DOES_NOT_EXIST", "Version"),
        ({"model_uri": f"models:/{world.name}@gone"}, 400, "INVALID_PARAMETER_VALUE", "alias gone not found"),
        ({"model_uri": "runs:/abc/model"}, 400, "INVALID_PARAMETER_VALUE", "models:/<name>@<alias>"),
        ({"model_uri": None}, 400, "INVALID_PARAMETER_VALUE", "'model_uri'"),
        ({"input": str(world.data / "nowhere")}, 400, "INVALID_PARAMETER_VALUE", "does not exist"),
        ({"input_format": "json"}, 400, "INVALID_PARAMETER_VALUE", "Allowed values: csv, parquet"),
        ({"output_format": "avro"}, 400, "INVALID_PARAMETER_VALUE", "Allowed values: csv, parquet"),
        ({"output": str(world.data / "big")}, 400, "INVALID_PARAMETER_VALUE", "already exists"),
        ({"input": "/etc"}, 400, "INVALID_PARAMETER_VALUE", "batch roots"),
        ({"output": str(world.data / ".." / "escaped")}, 400, "INVALID_PARAMETER_VALUE", "batch roots"),
        ({"result_column": "a b"}, 400, "INVALID_PARAMETER_VALUE", "result_column"),
    ]
    for change, status, code, text in cases:
        r = world.contributor.request("POST", JOBS, json={k: v for k, v in {**good, **change}.items() if v})
        got = _error(r)
        assert got[:2] == (status, code) and text in got[2], (change, got)
    bad_filter = _error(world.contributor.request("GET", JOBS, params={"status": "done"}))
    assert bad_filter[:2] == (400, "INVALID_PARAMETER_VALUE") and "queued, running" in bad_filter[2]


def test_the_list_pages_and_filters(world):
    everything = world.contributor.ok("GET", JOBS)["jobs"]
    assert len(everything) >= 3 and [j["creation_time"] for j in everything] == sorted(
        (j["creation_time"] for j in everything), reverse=True
    )
    first = world.contributor.ok("GET", JOBS, params={"max_results": 1})
    assert len(first["jobs"]) == 1 and first["next_page_token"]
    second = world.contributor.ok(
        "GET", JOBS, params={"max_results": 1, "page_token": first["next_page_token"]}
    )
    assert second["jobs"][0]["job_id"] != first["jobs"][0]["job_id"]
    cancelled = world.contributor.ok("GET", JOBS, params={"status": "cancelled"})["jobs"]
    assert len(cancelled) == 2 and {j["status"] for j in cancelled} == {"cancelled"}
    result = _cli(world, "jobs", "--status", "cancelled")
    assert result.exit_code == 0, result.output
    assert all(j["job_id"] in result.output for j in cancelled) and world.big_job not in result.output


# -- the big job ----------------------------------------------------------------------------
def test_the_big_job_succeeds_and_matches_the_models_own_predict(world):
    """Waits with `runyard batch status --wait` (a progress bar over the Spark tasks)."""
    result = _cli(world, "status", world.big_job, "--wait", "--interval", "0.5")
    job = world.contributor.ok("GET", f"{JOBS}/{world.big_job}")["job"]
    assert result.exit_code == 0, (result.output, job)
    assert "succeeded" in result.output and f"{LARGE_ROWS:,}" in result.output

    assert job["status"] == "succeeded", job
    assert (job["model_uri"], job["model_version"]) == (f"models:/{world.name}@champion", "1")
    assert job["row_count"] == LARGE_ROWS and job["output"] == str(world.data / "big-out")
    assert job["tasks_done"] == job["tasks_total"] >= 1  # Spark packs the 8 small files into few splits
    assert job["start_time"] <= job["end_time"] and "rows/s" in job["message"]
    assert_matches_model(pd.read_parquet(world.data / "big-out"), world.source, world.model)
    seconds = (job["end_time"] - job["start_time"]) / 1000
    print(f"\nbatch job over {LARGE_ROWS:,} rows: {job['message']} End to end {seconds:.1f} s "
          f"({LARGE_ROWS / seconds:,.0f} rows/s, with Spark start-up and model load).")  # fmt: skip


# -- restarts -------------------------------------------------------------------------------
def test_a_job_left_running_by_a_dead_server_fails_when_a_server_starts(tmp_path):
    (tmp_path / "artifacts").mkdir()
    url = f"sqlite:///{tmp_path / 'runyard.db'}"
    first = RunyardServer(url, tmp_path / "artifacts", "--auth", "off", "--batch-roots", str(tmp_path))
    first.start()
    try:
        api = Api(first.url)
        api.ok("POST", "/2.0/mlflow/registered-models/create", json={"name": "m"})
        api.ok("POST", "/2.0/mlflow/model-versions/create", json={"name": "m", "source": "s3://bucket/m"})
        frame(10, seed=1).to_csv(tmp_path / "rows.csv", index=False)
        body = {
            "model_uri": "models:/m/1",
            "input": str(tmp_path / "rows.csv"),
            "output": str(tmp_path / "out"),
        }
        job_id = api.ok("POST", JOBS, json=body)["job"]["job_id"]
        assert _wait_for(api, job_id, ("running", *FINAL))["status"] == "running"
    finally:
        first.kill()  # SIGKILL: no shutdown hook marks the job
    second = RunyardServer(url, tmp_path / "artifacts", "--auth", "off")
    second.start()
    try:
        job = Api(second.url).ok("GET", f"{JOBS}/{job_id}")["job"]
        assert job["status"] == "failed", job
        assert "stopped before it finished (found when a server started)" in job["message"]
        assert "submit the job again" in job["message"] and job["end_time"] >= job["start_time"]
    finally:
        second.stop()
