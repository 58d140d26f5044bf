"""Experiments through the stock mlflow client."""

from __future__ import annotations

import mlflow
import pytest
from mlflow.exceptions import MlflowException


def test_create_get_rename_delete_restore(client, unique):
    eid = client.create_experiment(f"exp-{unique}", tags={"team": "a"})
    exp = client.get_experiment(eid)
    assert exp.name == f"exp-{unique}"
    assert exp.tags == {"team": "a"}
    assert exp.artifact_location.startswith("mlflow-artifacts:/")

    client.rename_experiment(eid, f"exp-{unique}-renamed")
    assert client.get_experiment_by_name(f"exp-{unique}-renamed").experiment_id == eid

    client.delete_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "deleted"
    client.restore_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "active"


def test_duplicate_name_is_rejected(client, unique):
    client.create_experiment(f"dup-{unique}")
    with pytest.raises(MlflowException) as err:
        client.create_experiment(f"dup-{unique}")
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_unknown_experiment_is_404(client):
    with pytest.raises(MlflowException) as err:
        client.get_experiment("987654321")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_experiment_by_name("no-such-experiment-anywhere") is None


def test_experiment_tags(client, unique):
    eid = client.create_experiment(f"tags-{unique}")
    client.set_experiment_tag(eid, "k", "v")
    assert client.get_experiment(eid).tags["k"] == "v"
    client.delete_experiment_tag(eid, "k")
    assert "k" not in client.get_experiment(eid).tags


def test_set_experiment_creates_once(tracking_uri, unique):
    first = mlflow.set_experiment(f"fluent-{unique}")
    again = mlflow.set_experiment(f"fluent-{unique}")
    assert first.experiment_id == again.experiment_id


def test_default_experiment_is_zero(client):
    assert client.get_experiment("0").name == "Default"
