"""The model registry through the stock mlflow client: models, versions, stages, aliases,
tags, search, paging, rename, delete, concurrency and workspaces."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor

import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


@pytest.fixture(autouse=True)
def _quiet_stage_deprecation():
    # Stages are deprecated in the client (a FutureWarning), yet still part of the API we serve.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        yield


def _versions(client, name, source="s3://bucket/models/m", n=1, **kw):
    return [client.create_model_version(name, f"{source}/{i}", **kw) for i in range(n)]


def test_create_get_update_registered_model(client, unique):
    name = f"model-{unique}"
    created = client.create_registered_model(name, tags={"team": "fraud"}, description="first")
    assert created.name == name
    assert created.tags == {"team": "fraud"}
    assert created.description == "first"
    assert created.creation_timestamp > 0
    assert created.latest_versions == []

    updated = client.update_registered_model(name, description="second")
    assert updated.description == "second"
    assert updated.last_updated_timestamp >= created.last_updated_timestamp
    assert client.get_registered_model(name).description == "second"


def test_versions_are_numbered_from_one_and_keep_their_source(client, unique):
    name = f"numbered-{unique}"
    client.create_registered_model(name)
    v1 = client.create_model_version(name, "s3://bucket/a", tags={"k": "v"}, description="one")
    v2 = client.create_model_version(name, "s3://bucket/b", run_link="http://runs/2")
    assert (v1.version, v2.version) == ("1", "2")
    assert v1.source == "s3://bucket/a"
    assert v1.tags == {"k": "v"}
    assert v1.description == "one"
    assert v1.current_stage == "None"
    assert v1.status == "READY"
    assert v2.run_link == "http://runs/2"

    got = client.get_model_version(name, "2")
    assert (got.source, got.version, got.name) == ("s3://bucket/b", "2", name)
    assert client.get_model_version_download_uri(name, 1) == "s3://bucket/a"

    client.update_model_version(name, 1, description="changed")
    assert client.get_model_version(name, 1).description == "changed"


def test_a_version_on_the_wire_names_its_description_and_run_link_even_when_empty(server, client, unique):
    # As `mlflow server` sends it: scripts reading the JSON find both fields.
    name = f"wire-{unique}"
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/a")
    r = requests.get(
        f"{server.url}/api/2.0/mlflow/model-versions/get", params={"name": name, "version": "1"}, timeout=10
    )
    version = r.json()["model_version"]
    assert (version["description"], version["run_link"]) == ("", "")


def test_version_from_a_run_records_the_run(client, tracking_uri, unique):
    name = f"from-run-{unique}"
    client.create_registered_model(name)
    with mlflow.start_run() as run:
        pass
    source = f"{run.info.artifact_uri}/model"
    mv = client.create_model_version(name, source, run_id=run.info.run_id)
    assert mv.run_id == run.info.run_id
    assert client.get_model_version_download_uri(name, mv.version) == source
    runs_uri = client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    assert runs_uri.source == f"runs:/{run.info.run_id}/model"


def test_version_from_a_logged_model_points_at_its_files(client, unique):
    experiment_id = client.create_experiment(f"logged-{unique}")
    logged = client.create_logged_model(experiment_id, name="model")
    name = f"from-logged-{unique}"
    client.create_registered_model(name)
    mv = client.create_model_version(name, f"models:/{logged.model_id}", model_id=logged.model_id)
    assert mv.source == f"models:/{logged.model_id}"
    assert client.get_model_version_download_uri(name, mv.version) == logged.artifact_location
    # A path inside the logged model's files is fine; one outside it is not.
    inside = client.create_model_version(name, f"{logged.artifact_location}/sub", model_id=logged.model_id)
    assert client.get_model_version_download_uri(name, inside.version) == f"{logged.artifact_location}/sub"
    with pytest.raises(MlflowException) as err:
        client.create_model_version(name, "mlflow-artifacts:/0/elsewhere/artifacts", model_id=logged.model_id)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_models_uri_source_points_at_the_referenced_version(client, unique):
    name = f"promote-{unique}"
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/original")
    client.set_registered_model_alias(name, "best", 1)
    promoted = client.create_model_version(name, f"models:/{name}@best")
    assert promoted.version == "2"
    assert promoted.source == f"models:/{name}/1"
    assert client.get_model_version_download_uri(name, 2) == "s3://bucket/original"


def test_stages_and_archiving(server, client, unique):
    name = f"staged-{unique}"
    client.create_registered_model(name)
    _versions(client, name, n=3)

    client.transition_model_version_stage(name, 1, "production")  # case-insensitive
    assert client.get_model_version(name, 1).current_stage == "Production"
    client.transition_model_version_stage(name, 2, "Staging")
    moved = client.transition_model_version_stage(name, 3, "Production", archive_existing_versions=True)
    assert moved.current_stage == "Production"
    assert client.get_model_version(name, 1).current_stage == "Archived"
    assert client.get_model_version(name, 2).current_stage == "Staging"  # other stages untouched

    latest = {mv.current_stage: mv.version for mv in client.get_latest_versions(name)}
    assert latest == {"Archived": "1", "Staging": "2", "Production": "3"}
    assert [mv.version for mv in client.get_latest_versions(name, stages=["Production"])] == ["3"]
    in_model = {mv.current_stage: mv.version for mv in client.get_registered_model(name).latest_versions}
    assert in_model == latest
    # The GET spelling of get-latest-versions takes repeated query parameters.
    r = requests.get(
        f"{server.url}/api/2.0/mlflow/registered-models/get-latest-versions",
        params={"name": name, "stages": ["Staging", "Production"]},
        timeout=30,
    )
    assert sorted(mv["version"] for mv in r.json()["model_versions"]) == ["2", "3"]


def test_aliases(client, unique):
    name = f"aliased-{unique}"
    client.create_registered_model(name)
    _versions(client, name, n=2)

    client.set_registered_model_alias(name, "champion", 1)
    client.set_registered_model_alias(name, "challenger", 2)
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    assert client.get_registered_model(name).aliases == {"champion": "1", "challenger": "2"}
    assert client.get_model_version(name, 2).aliases == ["challenger"]

    client.set_registered_model_alias(name, "champion", 2)  # moving an alias
    assert client.get_model_version_by_alias(name, "champion").version == "2"
    assert sorted(client.get_model_version(name, 2).aliases) == ["challenger", "champion"]
    assert client.get_model_version(name, 1).aliases == []

    client.delete_registered_model_alias(name, "challenger")
    assert client.get_registered_model(name).aliases == {"champion": "2"}
    # "latest" is built in: the highest live version.
    assert client.get_model_version_by_alias(name, "latest").version == "2"

    client.delete_model_version(name, 2)  # deleting a version drops its aliases
    assert client.get_registered_model(name).aliases == {}
    with pytest.raises(MlflowException):
        client.get_model_version_by_alias(name, "champion")


def test_tags_on_models_and_versions(client, unique):
    name = f"tagged-{unique}"
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/x")

    client.set_registered_model_tag(name, "owner", "ana")
    client.set_registered_model_tag(name, "owner", "bo")  # overwrite
    client.set_model_version_tag(name, 1, "validated", "yes")
    client.set_model_version_tag(name, 1, "empty", "")
    assert client.get_registered_model(name).tags == {"owner": "bo"}
    assert client.get_model_version(name, 1).tags == {"validated": "yes", "empty": ""}

    client.delete_registered_model_tag(name, "owner")
    client.delete_model_version_tag(name, 1, "validated")
    assert client.get_registered_model(name).tags == {}
    assert client.get_model_version(name, 1).tags == {"empty": ""}
    client.delete_registered_model_tag(name, "never-set")  # not an error, as in MLflow


def test_search_registered_models_filters_orders_and_pages(client, unique):
    names = [f"search-{unique}-{i}" for i in range(5)]
    for i, name in enumerate(names):
        client.create_registered_model(name, tags={"parity": "even" if i % 2 == 0 else "odd"})

    found = client.search_registered_models(f"name LIKE 'search-{unique}-%'")
    assert [m.name for m in found] == names  # default order: name ASC
    desc = client.search_registered_models(f"name LIKE 'search-{unique}-%'", order_by=["name DESC"])
    assert [m.name for m in desc] == names[::-1]
    evens = client.search_registered_models(f"name LIKE 'search-{unique}%' AND tags.parity = 'even'")
    assert [m.name for m in evens] == names[0::2]
    assert [m.name for m in client.search_registered_models(f"name = '{names[3]}'")] == [names[3]]
    assert [m.name for m in client.search_registered_models(f"name ILIKE 'SEARCH-{unique}-4'")] == [names[4]]

    pages, token = [], None
    while True:
        page = client.search_registered_models(
            f"name LIKE 'search-{unique}-%'", max_results=2, page_token=token
        )
        pages.append([m.name for m in page])
        token = page.token
        if not token:
            break
    assert pages == [names[0:2], names[2:4], names[4:5]]


def test_search_registered_models_includes_latest_versions_and_aliases(client, unique):
    name = f"rich-{unique}"
    client.create_registered_model(name)
    _versions(client, name, n=2)
    client.set_registered_model_alias(name, "prod", 2)
    [found] = client.search_registered_models(f"name = '{name}'")
    assert [mv.version for mv in found.latest_versions] == ["2"]
    assert found.aliases == {"prod": "2"}


def test_search_model_versions(client, unique):
    a, b = f"mv-a-{unique}", f"mv-b-{unique}"
    for name in (a, b):
        client.create_registered_model(name)
        _versions(client, name, n=3)
    client.set_model_version_tag(a, 2, "quality", "gold")

    in_a = client.search_model_versions(f"name = '{a}'")
    assert [mv.version for mv in in_a] == ["3", "2", "1"]  # newest first
    both = client.search_model_versions(
        f"name IN ('{a}', '{b}')", order_by=["name ASC", "version_number ASC"]
    )
    assert [(mv.name, mv.version) for mv in both] == [
        (a, "1"),
        (a, "2"),
        (a, "3"),
        (b, "1"),
        (b, "2"),
        (b, "3"),
    ]
    gold = client.search_model_versions(f"name = '{a}' AND tags.quality = 'gold'")
    assert [mv.version for mv in gold] == ["2"]
    assert [mv.version for mv in client.search_model_versions(f"name = '{b}' AND version_number > 1")] == [
        "3",
        "2",
    ]

    first = client.search_model_versions(f"name = '{a}'", max_results=2, order_by=["version_number ASC"])
    assert [mv.version for mv in first] == ["1", "2"]
    rest = client.search_model_versions(
        f"name = '{a}'", max_results=2, order_by=["version_number ASC"], page_token=first.token
    )
    assert [mv.version for mv in rest] == ["3"]
    assert not rest.token


def test_rename_carries_versions_tags_and_aliases(client, unique):
    old, new = f"old-{unique}", f"new-{unique}"
    client.create_registered_model(old, tags={"t": "1"})
    client.create_model_version(old, "s3://bucket/r", tags={"vt": "x"})
    client.set_registered_model_alias(old, "live", 1)

    client.rename_registered_model(old, new)
    got = client.get_registered_model(new)
    assert (got.tags, got.aliases) == ({"t": "1"}, {"live": "1"})
    mv = client.get_model_version(new, 1)
    assert (mv.name, mv.tags, mv.aliases) == (new, {"vt": "x"}, ["live"])
    assert client.get_model_version_by_alias(new, "live").version == "1"
    # Numbering continues after a rename.
    assert client.create_model_version(new, "s3://bucket/r2").version == "2"
    with pytest.raises(MlflowException) as err:
        client.get_registered_model(old)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_deleted_versions_vanish_and_their_numbers_stay_taken(client, unique):
    name = f"deleting-{unique}"
    client.create_registered_model(name)
    _versions(client, name, n=2)
    client.delete_model_version(name, 2)
    with pytest.raises(MlflowException) as err:
        client.get_model_version(name, 2)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert [mv.version for mv in client.search_model_versions(f"name = '{name}'")] == ["1"]
    assert [mv.version for mv in client.get_registered_model(name).latest_versions] == ["1"]
    assert client.create_model_version(name, "s3://bucket/next").version == "3"


def test_delete_registered_model_removes_everything(client, unique):
    name = f"gone-{unique}"
    client.create_registered_model(name, tags={"a": "b"})
    _versions(client, name, n=2)
    client.set_registered_model_alias(name, "x", 1)
    client.delete_registered_model(name)

    with pytest.raises(MlflowException) as err:
        client.get_registered_model(name)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert list(client.search_model_versions(f"name = '{name}'")) == []
    # The name is free again and starts over, with nothing left behind.
    again = client.create_registered_model(name)
    assert (again.tags, again.aliases, again.latest_versions) == ({}, {}, [])
    assert client.create_model_version(name, "s3://bucket/new").version == "1"


def test_concurrent_version_creates_get_one_to_sixteen(client, unique):
    name = f"race-{unique}"
    client.create_registered_model(name)
    with ThreadPoolExecutor(16) as pool:
        created = list(
            pool.map(lambda i: client.create_model_version(name, f"s3://bucket/race/{i}"), range(16))
        )
    assert sorted(int(mv.version) for mv in created) == list(range(1, 17))
    sources = {mv.version: mv.source for mv in created}
    for mv in client.search_model_versions(f"name = '{name}'"):
        assert sources[mv.version] == mv.source


def test_same_name_in_two_workspaces_is_two_models(server, tracking_uri, unique):
    a, b = f"reg-a-{unique}", f"reg-b-{unique}"
    mlflow.create_workspace(a)
    mlflow.create_workspace(b)
    ca = MlflowClient(f"{server.url}/w/{a}", f"{server.url}/w/{a}")
    cb = MlflowClient(f"{server.url}/w/{b}", f"{server.url}/w/{b}")

    ca.create_registered_model("shared", tags={"ws": "a"})
    cb.create_registered_model("shared", tags={"ws": "b"})
    _versions(ca, "shared", n=2)
    _versions(cb, "shared", source="s3://bucket/b", n=1)
    ca.set_registered_model_alias("shared", "champion", 2)

    assert ca.get_registered_model("shared").tags == {"ws": "a"}
    assert cb.get_registered_model("shared").tags == {"ws": "b"}
    assert cb.get_registered_model("shared").aliases == {}
    assert [mv.version for mv in cb.search_model_versions("name = 'shared'")] == ["1"]
    with pytest.raises(MlflowException) as err:
        cb.get_model_version("shared", 2)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    # Nothing leaks into the default workspace either.
    assert MlflowClient(tracking_uri).search_registered_models("name = 'shared'") == []

    cb.delete_registered_model("shared")
    assert ca.get_model_version_by_alias("shared", "champion").version == "2"
