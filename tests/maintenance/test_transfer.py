"""``runyard export`` from a SQLite-backed server, ``runyard import`` into a fresh server on
each backend (SQLite → PostgreSQL is the case that matters); the stock mlflow client on the
target then sees the same workspace, downloads the artifacts and loads the logged model."""

from __future__ import annotations

import json
import math
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import mlflow
import mlflow.sklearn
import numpy as np
import pytest
import requests
from click.testing import CliRunner
from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag, ViewType
from sklearn.linear_model import LogisticRegression

from runyard.cli import main
from runyard.store.sql import workspaces as ws_sql
from runyard.store.sql.engine import Database
from tests.support.pg import backend_url
from tests.support.server import RunyardServer

WS = "team"
X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])


def _cli(*args: str):  # noqa: ANN202 - a click Result
    return CliRunner().invoke(main, list(args))


def _store(srv: RunyardServer) -> list[str]:
    return ["--backend-store-uri", srv.backend_url, "--artifacts-destination", str(srv.artifacts)]


def _seed(url: str, tmp: Path) -> dict:
    """A workspace with a bit of everything, written by the stock client."""
    requests.post(f"{url}/api/3.0/mlflow/workspaces", json={"name": WS}, timeout=10).raise_for_status()
    ws_url = f"{url}/w/{WS}"
    client = MlflowClient(ws_url, registry_uri=ws_url)
    # An experiment in another workspace first, so the exported ids are not simply 1..n.
    MlflowClient(url).create_experiment("elsewhere")
    exp = client.create_experiment("train", tags={"team": "vision"})
    other = client.create_experiment("scratch")
    runs = []
    for i in range(3):
        rid = client.create_run(exp, run_name=f"r{i}", tags={"k": str(i)}).info.run_id
        client.log_param(rid, "lr", str(0.1 * (i + 1)))
        for step in range(20):
            client.log_metric(rid, "loss", 1.0 / (step + 1 + i), step=step, timestamp=1000 + step)
        client.log_metric(rid, "odd", math.nan, step=0)
        client.log_metric(rid, "odd", math.inf, step=1)
        (tmp / f"notes{i}.txt").write_text(f"run {i}")
        client.log_artifact(rid, str(tmp / f"notes{i}.txt"), artifact_path="docs")
        ds = Dataset("iris", f"digest{i % 2}", "local", '{"uri": "/data/iris"}', '{"cols": 4}')
        client.log_inputs(rid, [DatasetInput(ds, [InputTag("mlflow.data.context", "train")])])
        client.set_terminated(rid)
        runs.append(rid)
    default_run = client.create_run("0", run_name="in-default").info.run_id
    client.log_artifact(default_run, str(tmp / "notes0.txt"))
    gone = client.create_run(other).info.run_id
    client.delete_run(gone)
    # A real model: logged from a run, registered twice, aliased, tagged, staged.
    mlflow.set_tracking_uri(ws_url)
    mlflow.set_registry_uri(ws_url)
    try:
        with mlflow.start_run(experiment_id=exp) as run:
            model = LogisticRegression().fit(X, [0, 1, 0, 1])
            info = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
        for _ in range(2):
            mlflow.register_model(f"models:/{info.model_id}", "clf")
    finally:
        mlflow.set_tracking_uri(None)
    client.set_registered_model_alias("clf", "champion", "2")
    client.set_registered_model_tag("clf", "owner", "ana")
    client.set_model_version_tag("clf", "1", "validated", "yes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.transition_model_version_stage("clf", "1", "Staging")
    return {
        "experiment": exp,
        "scratch": other,
        "runs": runs,
        "default_run": default_run,
        "deleted_run": gone,
        "model_run": run.info.run_id,
        "model_id": info.model_id,
        "predictions": model.predict_proba(X),
    }


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunyardServer, dict]]:
    tmp = tmp_path_factory.mktemp("source")
    with backend_url("sqlite", tmp) as url:
        srv = RunyardServer(url, tmp / "artifacts")
        srv.start()
        try:
            yield srv, _seed(srv.url, tmp)
        finally:
            srv.stop()


@pytest.fixture(scope="module")
def exported(source, tmp_path_factory: pytest.TempPathFactory) -> Path:
    srv, _ = source
    out = tmp_path_factory.mktemp("export") / "team"
    result = _cli("export", *_store(srv), "--workspace", WS, "--output", str(out))
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def target(request, exported: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunyardServer]:
    """A fresh server on ``param``, with an experiment of its own taking id 1, then the import."""
    tmp = tmp_path_factory.mktemp(f"target-{request.param}")
    with backend_url(request.param, tmp) as url:
        srv = RunyardServer(url, tmp / "artifacts")
        srv.start()
        try:
            # Ids 1 and 2 are taken here: the export's "train" (2) must move, "scratch" (3) may stay.
            MlflowClient(srv.url).create_experiment("already-here")
            MlflowClient(srv.url).create_experiment("also-here")
            result = _cli("import", *_store(srv), "--input", str(exported), "--workspace", WS, "--create")
            assert result.exit_code == 0, result.output
            yield srv
        finally:
            srv.stop()


def test_export_folder_is_the_documented_format(exported: Path, source):
    manifest = json.loads((exported / "manifest.json").read_text())
    assert manifest["format"] == "runyard-workspace-export" and manifest["version"] == 1
    assert manifest["workspace"]["name"] == WS
    runs = manifest["tables"]["runs"]
    assert runs["rows"] == 6  # three runs, one in Default, one deleted, the model's run
    lines = (exported / runs["file"]).read_text().splitlines()
    assert len(lines) == 6 and all(len(json.loads(line)) == len(runs["columns"]) for line in lines)
    assert manifest["artifacts"]["files"] == len(
        [p for p in (exported / "artifacts").rglob("*") if p.is_file()]
    )
    # Nothing of the other workspace leaked in.
    assert "elsewhere" not in (exported / "tables" / "experiments.jsonl").read_text()


def _same_runs(src: MlflowClient, dst: MlflowClient, src_exp: str, dst_exp: str) -> None:
    a = src.search_runs([src_exp], run_view_type=ViewType.ALL, order_by=["attributes.run_id"])
    b = dst.search_runs([dst_exp], run_view_type=ViewType.ALL, order_by=["attributes.run_id"])
    assert [r.info.run_id for r in a] == [r.info.run_id for r in b] and a
    for ra, rb in zip(a, b, strict=True):
        assert ra.data.params == rb.data.params
        assert ra.data.tags == rb.data.tags
        assert ra.data.metrics.keys() == rb.data.metrics.keys()
        for key in ra.data.metrics:
            ha = [(m.step, m.timestamp, m.value) for m in src.get_metric_history(ra.info.run_id, key)]
            hb = [(m.step, m.timestamp, m.value) for m in dst.get_metric_history(rb.info.run_id, key)]
            assert str(ha) == str(hb)  # str: NaN == NaN
        for attr in ("status", "start_time", "end_time", "lifecycle_stage", "run_name"):
            assert getattr(ra.info, attr) == getattr(rb.info, attr)
        outputs = [[(o.model_id, o.step) for o in r.outputs.model_outputs] for r in (ra, rb)]
        assert outputs[0] == outputs[1]
        assert [(d.dataset.name, d.dataset.digest, d.tags) for d in ra.inputs.dataset_inputs] == [
            (d.dataset.name, d.dataset.digest, d.tags) for d in rb.inputs.dataset_inputs
        ]


def test_import_shows_the_same_workspace_to_the_stock_client(source, target, tmp_path):
    src_srv, seeded = source
    src = MlflowClient(f"{src_srv.url}/w/{WS}", registry_uri=f"{src_srv.url}/w/{WS}")
    url = f"{target.url}/w/{WS}"
    dst = MlflowClient(url, registry_uri=url)
    exps_a = {e.name: e for e in src.search_experiments(view_type=ViewType.ALL)}
    exps_b = {e.name: e for e in dst.search_experiments(view_type=ViewType.ALL)}
    assert exps_a.keys() == exps_b.keys() == {"Default", "train", "scratch"}
    assert exps_b["scratch"].experiment_id == exps_a["scratch"].experiment_id == "3"
    assert exps_a["train"].experiment_id == "2" and exps_b["train"].experiment_id == "4"
    for name, ea in exps_a.items():
        eb = exps_b[name]
        assert (ea.tags, ea.lifecycle_stage) == (eb.tags, eb.lifecycle_stage)
        _same_runs(src, dst, ea.experiment_id, eb.experiment_id)
        assert eb.artifact_location == f"mlflow-artifacts:/{eb.experiment_id}"
    # Artifacts download from the target with the same bytes.
    for i, rid in enumerate(seeded["runs"]):
        local = dst.download_artifacts(rid, "docs/" + f"notes{i}.txt", str(tmp_path))
        assert Path(local).read_text() == f"run {i}"
    assert (
        Path(dst.download_artifacts(seeded["default_run"], "notes0.txt", str(tmp_path))).read_text()
        == "run 0"
    )
    # Registry: model, versions, aliases, tags, stages.
    ma, mb = src.get_registered_model("clf"), dst.get_registered_model("clf")
    assert (ma.tags, ma.aliases) == (mb.tags, mb.aliases) == ({"owner": "ana"}, {"champion": "2"})
    for v in ("1", "2"):
        va, vb = src.get_model_version("clf", v), dst.get_model_version("clf", v)
        for attr in ("run_id", "current_stage", "tags", "aliases", "source", "creation_timestamp"):
            assert getattr(va, attr) == getattr(vb, attr), attr
    model_run = dst.get_run(seeded["model_run"])
    assert [o.model_id for o in model_run.outputs.model_outputs] == [seeded["model_id"]]
    lm, src_lm = dst.get_logged_model(seeded["model_id"]), src.get_logged_model(seeded["model_id"])
    for attr in ("name", "params", "tags", "status", "model_type", "creation_timestamp"):
        assert getattr(lm, attr) == getattr(src_lm, attr), attr
    assert lm.source_run_id == seeded["model_run"]
    assert lm.experiment_id == exps_b["train"].experiment_id
    # And the model loads from the target through the alias.
    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    try:
        loaded = mlflow.sklearn.load_model("models:/clf@champion")
    finally:
        mlflow.set_tracking_uri(None)
    np.testing.assert_allclose(loaded.predict_proba(X), seeded["predictions"])
    # The target's own experiment is untouched, and new experiments get fresh ids.
    assert MlflowClient(target.url).get_experiment_by_name("already-here").experiment_id == "1"


def test_round_trip_export_from_the_target_matches(exported, target, tmp_path):
    """Exporting the imported workspace again (from PostgreSQL too) gives the same rows."""
    again = tmp_path / "again"
    result = _cli("export", *_store(target), "--workspace", WS, "--output", str(again))
    assert result.exit_code == 0, result.output
    first, second = (json.loads((d / "manifest.json").read_text()) for d in (exported, again))
    assert {k: t["rows"] for k, t in first["tables"].items()} == {
        k: t["rows"] for k, t in second["tables"].items()
    }
    assert first["artifacts"]["files"] == second["artifacts"]["files"]
    for table in ("metrics", "params", "tags", "registered_model_aliases", "model_version_tags"):
        lines = [
            sorted((d / "tables" / f"{table}.jsonl").read_text().splitlines()) for d in (exported, again)
        ]
        assert lines[0] == lines[1], table
    assert '"odd","Infinity"' in (again / "tables" / "metrics.jsonl").read_text()  # JSON has no inf
    # New experiments in the target get ids past every imported one.
    dst = MlflowClient(f"{target.url}/w/{WS}")
    new_id = dst.create_experiment("after-import")
    assert int(new_id) > max(
        int(e.experiment_id) for e in dst.search_experiments() if e.name != "after-import"
    )


def test_import_refuses_a_workspace_with_content_or_known_ids(exported, target):
    again = _cli("import", *_store(target), "--input", str(exported), "--workspace", WS)
    assert again.exit_code == 1 and f"Workspace '{WS}' is not empty" in again.output
    fresh = _cli("import", *_store(target), "--input", str(exported), "--workspace", "team-2", "--create")
    assert fresh.exit_code == 1 and "runs of the export already exist on this server" in fresh.output
    missing = _cli("import", *_store(target), "--input", str(exported), "--workspace", "nope")
    assert missing.exit_code == 1 and "pass --create" in missing.output
    names = {
        w["name"]
        for w in requests.get(f"{target.url}/api/3.0/mlflow/workspaces", timeout=10).json()["workspaces"]
    }
    assert "team-2" not in names and "nope" not in names


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_failed_import_leaves_the_target_unchanged(exported, tmp_path, kind):
    broken = tmp_path / "broken"
    shutil.copytree(exported, broken)
    with open(broken / "tables" / "registered_model_aliases.jsonl", "a") as f:
        f.write('["clf", "dup", 1]\n["clf", "dup", 1]\n')  # the same alias twice: the insert fails
    with backend_url(kind, tmp_path) as db:
        _failed_import_leaves_the_target_unchanged(exported, broken, db, tmp_path)


def _failed_import_leaves_the_target_unchanged(exported: Path, broken: Path, db: str, tmp_path: Path) -> None:
    store = ["--backend-store-uri", db, "--artifacts-destination", str(tmp_path / "art")]
    result = _cli("import", *store, "--input", str(broken), "--workspace", WS, "--create")
    assert result.exit_code != 0
    assert "could not be imported" in result.output and "nothing was changed" in result.output
    assert not [p for p in (tmp_path / "art").rglob("*") if p.is_file() and ".runyard" not in p.parts]
    database = Database(db)
    try:
        with database.read() as conn:
            assert [w.name for w in ws_sql.list_all(conn)] == ["default"]
    finally:
        database.close()
    ok = _cli("import", *store, "--input", str(exported), "--workspace", WS, "--create")
    assert ok.exit_code == 0, ok.output


def test_import_refuses_an_unfinished_export(tmp_path):
    (tmp_path / "half").mkdir()
    result = _cli(
        "import",
        "--backend-store-uri",
        f"sqlite:///{tmp_path / 'x.db'}",
        "--input",
        str(tmp_path / "half"),
        "--workspace",
        "w",
    )
    assert result.exit_code == 1 and "manifest.json is missing" in result.output


def test_export_refuses_a_non_empty_folder(source, tmp_path):
    srv, _ = source
    (tmp_path / "junk").write_text("x")
    result = _cli("export", *_store(srv), "--workspace", WS, "--output", str(tmp_path))
    assert result.exit_code == 1 and "is not empty" in result.output
