"""Bad input to the model registry: the exact MLflow error codes, and nothing changed."""

from __future__ import annotations

import pytest
import requests
from mlflow.exceptions import MlflowException

RM = "/api/2.0/mlflow/registered-models"
MV = "/api/2.0/mlflow/model-versions"


def call(server, method, path, body=None, params=None):
    r = requests.request(method, server.url + path, json=body, params=params, timeout=30)
    return r.status_code, r.json()


def assert_error(response, status, code):
    got_status, body = response
    assert (got_status, body.get("error_code")) == (status, code), body
    assert body["message"]


@pytest.fixture
def model(client, unique):
    """A model tagged keep=me, with versions 1 and 2 and alias "live" on 1."""
    name = f"err-{unique}"
    client.create_registered_model(name, tags={"keep": "me"})
    client.create_model_version(name, "s3://bucket/one")
    client.create_model_version(name, "s3://bucket/two")
    client.set_registered_model_alias(name, "live", 1)
    return name


def test_unknown_model_is_404(server, client, unique):
    name = f"nobody-{unique}"
    assert_error(call(server, "GET", f"{RM}/get", params={"name": name}), 404, "RESOURCE_DOES_NOT_EXIST")
    for method, path, body in [
        ("PATCH", f"{RM}/update", {"name": name, "description": "x"}),
        ("POST", f"{RM}/rename", {"name": name, "new_name": f"{name}-2"}),
        ("DELETE", f"{RM}/delete", {"name": name}),
        ("POST", f"{RM}/set-tag", {"name": name, "key": "k", "value": "v"}),
        ("POST", f"{RM}/get-latest-versions", {"name": name}),
        ("DELETE", f"{RM}/alias", {"name": name, "alias": "a"}),
        ("POST", f"{MV}/create", {"name": name, "source": "s3://bucket/x"}),
    ]:
        assert_error(call(server, method, path, body), 404, "RESOURCE_DOES_NOT_EXIST")
    # creating a version never creates the model behind it
    assert_error(call(server, "GET", f"{RM}/get", params={"name": name}), 404, "RESOURCE_DOES_NOT_EXIST")


def test_unknown_version_is_404(server, model):
    for method, path, body in [
        ("GET", f"{MV}/get", {"name": model, "version": "9"}),
        ("GET", f"{MV}/get-download-uri", {"name": model, "version": "9"}),
        ("PATCH", f"{MV}/update", {"name": model, "version": "9", "description": "x"}),
        ("POST", f"{MV}/transition-stage", {"name": model, "version": "9", "stage": "Production"}),
        ("DELETE", f"{MV}/delete", {"name": model, "version": "9"}),
        ("POST", f"{MV}/set-tag", {"name": model, "version": "9", "key": "k", "value": "v"}),
        ("POST", f"{RM}/alias", {"name": model, "alias": "champion", "version": "9"}),
    ]:
        if method == "GET":
            response = call(server, method, path, params=body)
        else:
            response = call(server, method, path, body)
        assert_error(response, 404, "RESOURCE_DOES_NOT_EXIST")
    _, body = call(server, "GET", f"{RM}/get", params={"name": model})
    assert {a["alias"] for a in body["registered_model"]["aliases"]} == {"live"}


def test_duplicate_model_is_rejected_and_the_original_kept(server, client, model):
    assert_error(
        call(server, "POST", f"{RM}/create", {"name": model, "description": "dup"}),
        400,
        "RESOURCE_ALREADY_EXISTS",
    )
    assert client.get_registered_model(model).tags == {"keep": "me"}
    with pytest.raises(MlflowException) as err:
        client.create_registered_model(model)
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_rename_onto_an_existing_model_changes_nothing(server, client, model, unique):
    other = f"other-{unique}"
    client.create_registered_model(other)
    assert_error(
        call(server, "POST", f"{RM}/rename", {"name": model, "new_name": other}),
        400,
        "RESOURCE_ALREADY_EXISTS",
    )
    assert client.get_model_version(model, 2).name == model
    assert client.get_registered_model(other).latest_versions == []


@pytest.mark.parametrize("bad", ["a/b", "a:b", "../x", "   "])
def test_invalid_model_names(server, bad):
    assert_error(call(server, "POST", f"{RM}/create", {"name": bad}), 400, "INVALID_PARAMETER_VALUE")


def test_missing_required_fields(server, model):
    assert_error(call(server, "POST", f"{RM}/create", {}), 400, "INVALID_PARAMETER_VALUE")
    assert_error(call(server, "POST", f"{MV}/create", {"name": model}), 400, "INVALID_PARAMETER_VALUE")
    assert_error(call(server, "GET", f"{MV}/get", params={"name": model}), 400, "INVALID_PARAMETER_VALUE")
    assert_error(call(server, "POST", f"{RM}/rename", {"name": model}), 400, "INVALID_PARAMETER_VALUE")


def test_bad_stage(server, client, model):
    for body in [
        {"name": model, "version": "1", "stage": "Prod"},
        # archiving other versions only makes sense for Staging and Production
        {"name": model, "version": "1", "stage": "Archived", "archive_existing_versions": True},
    ]:
        assert_error(call(server, "POST", f"{MV}/transition-stage", body), 400, "INVALID_PARAMETER_VALUE")
    assert client.get_model_version(model, 1).current_stage == "None"
    assert_error(
        call(server, "POST", f"{RM}/get-latest-versions", {"name": model, "stages": ["Nope"]}),
        400,
        "INVALID_PARAMETER_VALUE",
    )


def test_nul_characters_never_reach_the_database(server, model):
    # PostgreSQL cannot store NUL; it must be a clean 400 on every backend.
    for method, path, body in [
        ("POST", f"{RM}/create", {"name": "bad\x00name"}),
        ("PATCH", f"{RM}/update", {"name": model, "description": "a\x00b"}),
        ("POST", f"{RM}/set-tag", {"name": model, "key": "k", "value": "a\x00b"}),
        ("POST", f"{MV}/create", {"name": model, "source": "s3://bucket/a\x00b"}),
    ]:
        assert_error(call(server, method, path, body), 400, "INVALID_PARAMETER_VALUE")
    params = {"name": "x\x00y"}
    assert_error(call(server, "GET", f"{RM}/get", params=params), 400, "INVALID_PARAMETER_VALUE")


def test_non_integer_version(server, model):
    assert_error(
        call(server, "GET", f"{MV}/get", params={"name": model, "version": "one"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )


@pytest.mark.parametrize("alias", ["latest", "LATEST", "v1", "V12", "has space", "a.b", ""])
def test_reserved_or_malformed_aliases(server, client, model, alias):
    body = {"name": model, "alias": alias, "version": "1"}
    assert_error(call(server, "POST", f"{RM}/alias", body), 400, "INVALID_PARAMETER_VALUE")
    assert client.get_registered_model(model).aliases == {"live": "1"}


def test_unknown_alias(server, model):
    # MLflow answers INVALID_PARAMETER_VALUE for an alias that is not set.
    params = {"name": model, "alias": "nope"}
    assert_error(call(server, "GET", f"{RM}/alias", params=params), 400, "INVALID_PARAMETER_VALUE")


def test_bad_tags(server, client, model):
    for body in [
        {"name": model, "key": "../up", "value": "v"},
        {"name": model, "key": "x" * 251, "value": "v"},
        {"name": model, "key": "big", "value": "x" * 100_001},
    ]:
        assert_error(call(server, "POST", f"{RM}/set-tag", body), 400, "INVALID_PARAMETER_VALUE")
    assert client.get_registered_model(model).tags == {"keep": "me"}
    # up to MLflow's limit is fine
    ok = call(server, "POST", f"{RM}/set-tag", {"name": model, "key": "big", "value": "x" * 100_000})
    assert ok[0] == 200


def test_search_limits_filters_and_tokens(server, model):
    def search(path, **params):
        return call(server, "GET", path, params=params)

    assert_error(search(f"{RM}/search", max_results=1001), 400, "INVALID_PARAMETER_VALUE")
    assert_error(search(f"{MV}/search", max_results=200_001), 400, "INVALID_PARAMETER_VALUE")
    assert_error(search(f"{RM}/search", filter="name =="), 400, "INVALID_PARAMETER_VALUE")
    assert_error(search(f"{MV}/search", filter="metrics.x > 1"), 400, "INVALID_PARAMETER_VALUE")
    assert_error(search(f"{RM}/search", order_by="size DESC"), 400, "INVALID_PARAMETER_VALUE")

    status, first = search(f"{MV}/search", filter=f"name = '{model}'", max_results=1)
    assert status == 200 and first["next_page_token"]
    # a token only resumes the query that produced it
    assert_error(
        search(
            f"{MV}/search", filter=f"name != '{model}'", max_results=1, page_token=first["next_page_token"]
        ),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    assert_error(search(f"{RM}/search", page_token="garbage"), 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize(
    "source",
    [
        "s3://bucket/models/../../secrets",
        "/etc/passwd",  # a local path needs a run whose artifacts contain it
        "relative/path",
        "mlflow-artifacts:/1/abc/artifacts/model",  # proxied artifacts need their run
        "runs:/0123456789abcdef0123456789abcdef/model",  # runs:/ needs the matching run_id
        "models:/m-0123456789abcdef",  # a logged model needs its model_id
    ],
)
def test_unsafe_or_unanchored_sources(server, client, model, source):
    assert_error(
        call(server, "POST", f"{MV}/create", {"name": model, "source": source}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    assert [mv.version for mv in client.search_model_versions(f"name = '{model}'")] == ["2", "1"]


def test_versions_of_another_workspace_are_not_there(server, client, model, unique):
    import mlflow
    from mlflow import MlflowClient

    other = f"reg-err-{unique}"
    mlflow.create_workspace(other)
    elsewhere = MlflowClient(f"{server.url}/w/{other}", f"{server.url}/w/{other}")
    for fn, args in [
        (elsewhere.get_registered_model, (model,)),
        (elsewhere.get_model_version, (model, 1)),
        (elsewhere.get_model_version_download_uri, (model, 1)),
    ]:
        with pytest.raises(MlflowException) as err:
            fn(*args)
        assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as err:
        elsewhere.delete_registered_model(model)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_registered_model(model).name == model


def test_delete_with_a_json_body_and_query_string(server, client, model):
    # The client sends DELETE bodies as JSON; plain query parameters work too.
    status, _ = call(server, "DELETE", f"{MV}/delete", {"name": model, "version": "2"})
    assert status == 200
    r = requests.delete(server.url + f"{RM}/alias", params={"name": model, "alias": "live"}, timeout=30)
    assert r.status_code == 200
    assert client.get_registered_model(model).aliases == {}
    assert [mv.version for mv in client.search_model_versions(f"name = '{model}'")] == ["1"]
