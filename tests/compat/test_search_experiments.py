"""search_experiments: filters, order_by, view types and paging through the stock client."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException


@pytest.fixture
def ws_client(server, unique):
    import requests

    name = f"search-{unique}"
    requests.post(
        f"{server.url}/api/3.0/mlflow/workspaces", json={"name": name}, timeout=10
    ).raise_for_status()
    return MlflowClient(f"{server.url}/w/{name}")


def test_filter_and_order(ws_client):
    for i in range(5):
        ws_client.create_experiment(f"exp-{i}", tags={"parity": "even" if i % 2 == 0 else "odd"})
    found = ws_client.search_experiments(filter_string="tags.parity = 'even'", order_by=["name DESC"])
    assert [e.name for e in found] == ["exp-4", "exp-2", "exp-0"]
    found = ws_client.search_experiments(filter_string="name LIKE 'exp-%'", order_by=["name ASC"])
    assert [e.name for e in found] == [f"exp-{i}" for i in range(5)]


def test_view_types_and_paging(ws_client):
    ids = [ws_client.create_experiment(f"page-{i:02d}", tags={"i": str(i)}) for i in range(24)]
    ws_client.delete_experiment(ids[0])
    active = ws_client.search_experiments(filter_string="name LIKE 'page-%'")
    assert len(active) == 23
    assert {e.tags["i"] for e in active} == {str(i) for i in range(1, 24)}
    deleted = ws_client.search_experiments(view_type=ViewType.DELETED_ONLY)
    assert [e.experiment_id for e in deleted] == [ids[0]]

    seen, token = [], None
    while True:
        page = ws_client.search_experiments(
            filter_string="name LIKE 'page-%'", max_results=5, page_token=token, order_by=["name"]
        )
        seen += [e.name for e in page]
        token = page.token
        if not token:
            break
    assert seen == [f"page-{i:02d}" for i in range(1, 24)]


def test_bad_filter_points_at_problem(ws_client):
    with pytest.raises(MlflowException) as err:
        ws_client.search_experiments(filter_string="name === 'x'")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "column" in err.value.message
