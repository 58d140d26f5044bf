"""runs/search through the stock client: every comparator, every order_by kind, paging."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType


def make_zoo(client: MlflowClient, eid: str) -> dict[str, str]:
    """Three runs with known metrics, params, tags and attributes."""
    spec = [
        ("alpha", 100, 0.1, "adam", "vision", "small", "FINISHED"),
        ("beta", 200, 0.5, "sgd", "Vision", "large", "FAILED"),
        ("gamma", 300, 0.9, "adamw", None, None, "RUNNING"),
    ]
    ids = {}
    for name, start, acc, opt, team, size, status in spec:
        run = client.create_run(eid, start_time=start, run_name=name)
        rid = run.info.run_id
        tags = [RunTag("team", team), RunTag("size", size)] if team else []
        client.log_batch(rid, metrics=[Metric("acc", acc, 1, 0)], params=[Param("opt", opt)], tags=tags)
        if status != "RUNNING":
            client.set_terminated(rid, status=status, end_time=start + 50)
        ids[name] = rid
    return ids


@pytest.fixture(scope="module")
def zoo(server):
    """One shared, read-only zoo per backend (tests that change runs make their own)."""
    client = MlflowClient(server.url)
    eid = client.create_experiment(f"search-{uuid.uuid4().hex[:8]}")
    return eid, make_zoo(client, eid)


def names(runs) -> list[str]:
    return [r.info.run_name for r in runs]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.acc = 0.5", ["beta"]),
        ("metrics.acc != 0.5", ["gamma", "alpha"]),
        ("metrics.acc > 0.1", ["gamma", "beta"]),
        ("metrics.acc >= 0.5", ["gamma", "beta"]),
        ("metrics.acc < 0.5", ["alpha"]),
        ("metrics.acc <= 0.5", ["beta", "alpha"]),
        ("params.opt = 'adam'", ["alpha"]),
        ("params.opt != 'adam'", ["gamma", "beta"]),
        ("params.opt LIKE 'adam%'", ["gamma", "alpha"]),
        ("params.opt ILIKE 'ADAM_'", ["gamma"]),
        ("tags.team = 'vision'", ["alpha"]),
        ("tags.team LIKE 'vis%'", ["alpha"]),
        ("tags.team ILIKE 'vis%'", ["beta", "alpha"]),
        ("tags.team IS NULL", ["gamma"]),
        ("tags.team IS NOT NULL", ["beta", "alpha"]),
        ("attributes.status = 'FAILED'", ["beta"]),
        ("attributes.status != 'RUNNING'", ["beta", "alpha"]),
        ("attributes.run_name = 'gamma'", ["gamma"]),
        ("attributes.start_time > 150", ["gamma", "beta"]),
        ("attributes.end_time <= 150", ["alpha"]),
        ("run_name LIKE '%a'", ["gamma", "beta", "alpha"]),
        ("metrics.acc > 0.2 AND params.opt != 'adamw'", ["beta"]),
        ("metrics.missing > 0", []),
    ],
)
def test_filter_comparators(client, zoo, filter_string, expected):
    eid, _ = zoo
    assert names(client.search_runs([eid], filter_string)) == expected


def test_filter_on_run_id(client, zoo):
    eid, ids = zoo
    found = client.search_runs([eid], f"attributes.run_id IN ('{ids['alpha']}', '{ids['gamma']}')")
    assert names(found) == ["gamma", "alpha"]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ([], ["gamma", "beta", "alpha"]),  # start_time DESC by default
        (["metrics.acc ASC"], ["alpha", "beta", "gamma"]),
        (["metrics.acc DESC"], ["gamma", "beta", "alpha"]),
        (["params.opt"], ["alpha", "gamma", "beta"]),
        (["tags.size DESC"], ["alpha", "beta", "gamma"]),  # runs without the tag go last
        (["tags.size ASC"], ["beta", "alpha", "gamma"]),
        (["attributes.start_time ASC"], ["alpha", "beta", "gamma"]),
        (["attributes.run_name DESC"], ["gamma", "beta", "alpha"]),
        (["status", "start_time DESC"], ["beta", "alpha", "gamma"]),
    ],
)
def test_order_by(client, zoo, order_by, expected):
    eid, _ = zoo
    assert names(client.search_runs([eid], order_by=order_by)) == expected


def test_search_runs_returns_pandas(tracking_uri, zoo):
    eid, ids = zoo
    frame = mlflow.search_runs([eid], order_by=["metrics.acc DESC"])
    assert list(frame["run_id"]) == [ids["gamma"], ids["beta"], ids["alpha"]]
    assert list(frame["metrics.acc"]) == [0.9, 0.5, 0.1]
    assert list(frame["params.opt"]) == ["adamw", "sgd", "adam"]
    assert frame.loc[frame.run_id == ids["alpha"], "tags.team"].item() == "vision"


def test_view_types(client, unique):
    eid = client.create_experiment(f"views-{unique}")
    ids = make_zoo(client, eid)
    client.delete_run(ids["beta"])
    assert names(client.search_runs([eid])) == ["gamma", "alpha"]
    assert names(client.search_runs([eid], run_view_type=ViewType.DELETED_ONLY)) == ["beta"]
    assert names(client.search_runs([eid], run_view_type=ViewType.ALL)) == ["gamma", "beta", "alpha"]


def test_search_across_experiments(client, zoo, unique):
    eid, _ = zoo
    other = client.create_experiment(f"search-other-{unique}")
    client.create_run(other, start_time=400, run_name="delta")
    assert names(client.search_runs([eid, other])) == ["delta", "gamma", "beta", "alpha"]


def test_paging_through_many_runs(server, client, unique):
    eid = client.create_experiment(f"paging-{unique}")
    url = f"{server.url}/api/2.0/mlflow/runs/create"
    total = 1100

    def create(i: int) -> str:
        # Many equal start times: stable paging must not depend on them being unique.
        body = {"experiment_id": eid, "start_time": i // 7, "run_name": f"r{i}"}
        with requests.post(url, json=body, timeout=30) as r:
            return r.json()["run"]["info"]["run_id"]

    with ThreadPoolExecutor(16) as pool:
        created = set(pool.map(create, range(total)))
    assert len(created) == total

    seen: list[str] = []
    token = None
    while True:
        page = client.search_runs([eid], max_results=300, page_token=token)
        seen += [r.info.run_id for r in page]
        token = page.token
        if not token:
            break
    assert len(seen) == total
    assert set(seen) == created
    starts = [client.get_run(seen[0]).info.start_time, client.get_run(seen[-1]).info.start_time]
    assert starts == [(total - 1) // 7, 0]

    first = client.search_runs([eid])  # the default page size is 1000
    assert len(first) == 1000
    assert first.token is not None
    assert [r.info.run_id for r in first] == seen[:1000]
    assert len(mlflow.search_runs([eid], output_format="list")) == total
