"""``runyard gc`` against a real server's database and artifact folder, on SQLite and
PostgreSQL: dry-run changes nothing, only what is past retention goes (artifacts included),
versions keep their runs, and an interrupted gc finishes when run again."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from click.testing import CliRunner
from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag
from mlflow.exceptions import MlflowException
from sqlalchemy import create_engine, text

from runyard.artifacts.base import artifact_backend
from runyard.cli import main
from runyard.maintenance import gc as rules
from runyard.store.sql.engine import Database, normalize_url


def _gc(server, *args: str):  # noqa: ANN001, ANN202 - a RunyardServer, a click Result
    return CliRunner().invoke(
        main,
        [
            "gc",
            "--backend-store-uri",
            server.backend_url,
            "--artifacts-destination",
            str(server.artifacts),
            *args,
        ],
    )


def _rows(server, run_id: str) -> int:  # noqa: ANN001
    """Rows anywhere that still belong to a run (it must have none left after gc)."""
    engine = create_engine(normalize_url(server.backend_url))
    try:
        with engine.connect() as conn:
            return (
                sum(
                    conn.execute(
                        text(f"SELECT count(*) FROM {t} WHERE run_uuid = :r"), {"r": run_id}
                    ).scalar_one()
                    for t in ("runs", "metrics", "latest_metrics", "params", "tags")
                )
                + conn.execute(
                    text("SELECT count(*) FROM inputs WHERE destination_id = :r OR source_id = :r"),
                    {"r": run_id},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _audit(server, ws: str) -> list[str]:  # noqa: ANN001
    engine = create_engine(normalize_url(server.backend_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT a.action FROM audit_log a JOIN workspaces w ON w.id = a.workspace_id "
                    "WHERE w.name = :ws AND a.actor = 'runyard gc'"
                ),
                {"ws": ws},
            )
            return sorted(r[0] for r in rows)
    finally:
        engine.dispose()


def _age(server, runs: list[str], experiments: list[str], models: list[str]) -> None:  # noqa: ANN001
    """Move deletion times two hours back, as if the deletes happened then."""
    two_hours = 2 * 3600 * 1000
    engine = create_engine(normalize_url(server.backend_url))
    try:
        with engine.begin() as conn:
            for table, column, key, ids in (
                ("runs", "deleted_time", "run_uuid", runs),
                ("experiments", "last_update_time", "experiment_id", [int(e) for e in experiments]),
                ("logged_models", "last_updated_timestamp_ms", "model_id", models),
            ):
                for i in ids:
                    conn.execute(
                        text(f"UPDATE {table} SET {column} = {column} - :d WHERE {key} = :i"),
                        {"d": two_hours, "i": i},
                    )
    finally:
        engine.dispose()


def _gone(fn) -> bool:  # noqa: ANN001
    try:
        fn()
    except MlflowException as exc:
        return exc.error_code == "RESOURCE_DOES_NOT_EXIST"
    return False


def _run(client: MlflowClient, experiment_id: str, tmp: Path, name: str) -> str:
    run = client.create_run(experiment_id, run_name=name)
    rid = run.info.run_id
    client.log_param(rid, "p", name)
    for step in range(3):
        client.log_metric(rid, "loss", 1.0 / (step + 1), step=step)
    f = tmp / f"{name}.txt"
    f.write_text(name)
    client.log_artifact(rid, str(f))
    dataset = Dataset(f"ds-{name}", f"d{len(name)}", "local", '{"uri": "/data"}')
    client.log_inputs(rid, [DatasetInput(dataset, [InputTag("mlflow.data.context", "training")])])
    return rid


def test_gc_dry_run_then_retention_then_rerun(server, tracking_uri, unique, tmp_path):
    ws = f"gc-{unique}"
    mlflow.create_workspace(ws)
    client = MlflowClient(f"{server.url}/w/{ws}")
    keep_exp = client.create_experiment(f"keep-{unique}")
    drop_exp = client.create_experiment(f"drop-{unique}")
    old = _run(client, keep_exp, tmp_path, "old")
    used = _run(client, keep_exp, tmp_path, "used")
    in_dropped = _run(client, drop_exp, tmp_path, "in-dropped")
    live = _run(client, keep_exp, tmp_path, "live")
    recent = _run(client, keep_exp, tmp_path, "recent")
    (tmp_path / "weights.bin").write_bytes(b"w" * 100)
    model_in_dropped = client.create_logged_model(drop_exp, name="in-dropped", params={"a": "1"})
    client.log_model_artifact(model_in_dropped.model_id, str(tmp_path / "weights.bin"))
    deleted_model = client.create_logged_model(keep_exp, name="deleted", params={"a": "2"})
    client.log_model_artifact(deleted_model.model_id, str(tmp_path / "weights.bin"))
    live_model = client.create_logged_model(keep_exp, name="live")
    client.log_model_artifact(live_model.model_id, str(tmp_path / "weights.bin"))
    client.delete_logged_model(deleted_model.model_id)
    client.create_registered_model(f"m-{unique}")
    client.create_model_version(f"m-{unique}", f"runs:/{used}/used.txt", run_id=used)
    for rid in (old, used, recent):
        client.delete_run(rid)
    client.delete_experiment(drop_exp)
    # Two hours pass for everything but "recent" (deleted within the 1 h retention: stays).
    _age(server, [old, used, in_dropped], [drop_exp], [deleted_model.model_id, model_in_dropped.model_id])
    art = Path(server.artifacts)
    assert (art / keep_exp / old / "artifacts" / "old.txt").is_file()

    dry = _gc(server, "--older-than", "1h", "--workspace", ws, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Would remove" in dry.output
    assert "2 runs" in dry.output and old in dry.output and in_dropped in dry.output
    assert f"1 experiments: {drop_exp} (drop-{unique})" in dry.output
    assert "2 logged models" in dry.output
    assert deleted_model.model_id in dry.output and model_in_dropped.model_id in dry.output
    assert used in dry.output.split("Kept because", 1)[1]
    for rid in (recent, live):
        assert rid not in dry.output
    # Nothing changed.
    assert client.get_run(old).info.lifecycle_stage == "deleted"
    assert client.get_experiment(drop_exp).lifecycle_stage == "deleted"
    assert (art / keep_exp / old / "artifacts" / "old.txt").is_file()
    assert (art / drop_exp / in_dropped / "artifacts" / "in-dropped.txt").is_file()

    real = _gc(server, "--older-than", "1h", "--workspace", ws)
    assert real.exit_code == 0, real.output
    assert "Removed 2 runs, 2 logged models and 1 experiments." in real.output
    assert _gone(lambda: client.get_logged_model(deleted_model.model_id))
    assert not (art / keep_exp / "models" / deleted_model.model_id).exists()
    assert (art / keep_exp / "models" / live_model.model_id / "artifacts" / "weights.bin").is_file()
    assert client.get_logged_model(live_model.model_id).name == "live"
    assert _gone(lambda: client.get_run(old)) and _gone(lambda: client.get_run(in_dropped))
    assert _gone(lambda: client.get_experiment(drop_exp))
    assert _rows(server, old) == 0 and _rows(server, in_dropped) == 0
    assert not (art / keep_exp / old).exists()
    assert not (art / drop_exp).exists()
    # Past retention but used by a live model version: kept, files and all.
    assert client.get_run(used).info.lifecycle_stage == "deleted"
    assert client.get_model_version(f"m-{unique}", "1").run_id == used
    assert (art / keep_exp / used / "artifacts" / "used.txt").read_text() == "used"
    # Within retention, or not deleted: untouched.
    for rid, name in ((recent, "recent"), (live, "live")):
        assert client.get_run(rid).data.params == {"p": name}
        assert [m.value for m in client.get_metric_history(rid, "loss")] == [1.0, 0.5, 1.0 / 3]
        assert (art / keep_exp / rid / "artifacts" / f"{name}.txt").is_file()

    assert _audit(server, ws) == ["experiment.purge", "model.purge", "run.purge"]

    again = _gc(server, "--older-than", "1h", "--workspace", ws)
    assert again.exit_code == 0 and "Nothing to remove." in again.output


def test_named_runs_must_be_deleted_and_past_retention(server, tracking_uri, unique):
    ws = f"gc-named-{unique}"
    mlflow.create_workspace(ws)
    client = MlflowClient(f"{server.url}/w/{ws}")
    active = client.create_run("0").info.run_id
    fresh = client.create_run("0").info.run_id
    client.delete_run(fresh)
    out = _gc(server, "--workspace", ws, "--run-ids", f"{active},{fresh},{'f' * 32}", "--dry-run")
    assert out.exit_code == 1
    assert f"run {active} is not deleted" in out.output
    assert f"run {fresh} was deleted within the retention period" in out.output
    assert f"run {'f' * 32} does not exist" in out.output
    live_exp = client.create_experiment(f"live-{unique}")
    named = _gc(server, "--workspace", ws, "--experiment-ids", f"{live_exp},987654321", "--dry-run")
    assert named.exit_code == 1
    assert f"experiment {live_exp} is not deleted" in named.output
    assert "experiment 987654321 does not exist" in named.output
    assert _gc(server, "--experiment-ids", "x1", "--dry-run").exit_code == 2
    bad = _gc(server, "--older-than", "soon", "--dry-run")
    assert bad.exit_code == 1 and "Invalid duration 'soon'" in bad.output
    # With no retention the named run goes, and only it.
    other = client.create_run("0").info.run_id
    client.delete_run(other)
    ok = _gc(server, "--workspace", ws, "--older-than", "0", "--run-ids", fresh)
    assert ok.exit_code == 0, ok.output
    assert _gone(lambda: client.get_run(fresh))
    assert client.get_run(other).info.lifecycle_stage == "deleted"


def test_interrupted_gc_loses_nothing_and_finishes_on_rerun(server, tracking_uri, unique, monkeypatch):
    ws = f"gc-kill-{unique}"
    mlflow.create_workspace(ws)
    client = MlflowClient(f"{server.url}/w/{ws}")
    eid = client.create_experiment(f"kill-{unique}")
    doomed = [client.create_run(eid).info.run_id for _ in range(3)]
    keeper = client.create_run(eid).info.run_id
    for rid in doomed:
        client.log_metric(rid, "m", 1.0)
        client.delete_run(rid)
    db = Database(server.backend_url)
    ws_id = next(w.id for w in _workspaces(db) if w.name == ws)
    monkeypatch.setattr(rules, "BATCH", 1)

    def die_after_first(n: int) -> None:
        raise KeyboardInterrupt  # as Ctrl-C (or a kill) between two batches

    try:
        p = rules.plan(db, cutoff=None, workspace_id=ws_id)
        assert sorted(r.run_id for r in p.runs) == sorted(doomed)
        with pytest.raises(KeyboardInterrupt):
            rules.execute(db, artifact_backend(str(server.artifacts)), p, die_after_first)
        assert sum(_gone(lambda r=r: client.get_run(r)) for r in doomed) == 1
        assert client.get_run(keeper).info.lifecycle_stage == "active"
    finally:
        db.close()
    rerun = _gc(server, "--workspace", ws, "--older-than", "0")
    assert rerun.exit_code == 0, rerun.output
    assert "Removed 2 runs" in rerun.output
    assert all(_gone(lambda r=r: client.get_run(r)) for r in doomed)
    assert client.get_run(keeper).info.lifecycle_stage == "active"


def _workspaces(db: Database):  # noqa: ANN202
    from runyard.store.sql import workspaces as ws_sql

    with db.read() as conn:
        return ws_sql.list_all(conn)


def test_restored_while_gc_runs_is_kept(server, tracking_uri, unique, tmp_path):
    ws = f"gc-restore-{unique}"
    mlflow.create_workspace(ws)
    client = MlflowClient(f"{server.url}/w/{ws}")
    eid = client.create_experiment(f"back-{unique}")
    rid = _run(client, eid, tmp_path, "back")
    model = client.create_logged_model(eid, name="back")
    client.log_model_artifact(model.model_id, str(tmp_path / "back.txt"))
    client.delete_experiment(eid)
    db = Database(server.backend_url)
    try:
        ws_id = next(w.id for w in _workspaces(db) if w.name == ws)
        p = rules.plan(db, cutoff=None, workspace_id=ws_id)
        assert (len(p.runs), len(p.models), len(p.experiments)) == (1, 1, 1)
        client.restore_experiment(eid)  # between the plan and its execution
        result = rules.execute(db, artifact_backend(str(server.artifacts)), p)
    finally:
        db.close()
    assert (result.runs, result.models, result.experiments, result.skipped) == (0, 0, 0, 3)
    assert client.get_run(rid).data.params == {"p": "back"}
    art = Path(server.artifacts) / eid
    assert (art / rid / "artifacts" / "back.txt").is_file()
    assert (art / "models" / model.model_id / "artifacts" / "back.txt").is_file()
