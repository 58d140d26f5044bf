"""Garbage collection: permanently remove deleted runs, experiments and logged models once
their retention has passed, artifacts first and rows after, one batch per transaction.

Why artifacts first: if the process dies between the two steps, the rows are still there
(still deleted) and the next ``runyard gc`` finishes the job; the other order would leave
files nothing points at. Every row delete re-checks "still deleted", so a run restored while
gc runs is kept (its files too, unless the restore lands in the instant between the check
and the file delete of its batch). Runs and logged models that a live registered model
version still uses are kept, and so is any deleted experiment holding one: the version
keeps working.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from runyard.artifacts.base import ArtifactBackend, artifact_backend, split_path
from runyard.errors import InvalidParameter
from runyard.services import audit
from runyard.services.artifacts import proxied_path
from runyard.store.sql import gc as sql
from runyard.store.sql.engine import Database

log = logging.getLogger("runyard.gc")

ACTOR = "runyard gc"
BATCH = 100  # rows per transaction: short locks for a live server, little lost work on a kill

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNIT_MS = {"": 86_400_000, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_duration(text: str) -> int:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` or a bare number of days → milliseconds."""
    match = _DURATION.match(text or "")
    if not match:
        raise InvalidParameter(
            f"Invalid duration '{text}': use a number with a unit s, m, h, d or w (e.g. 30d, 12h, 0)."
        )
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


@dataclass
class GcPlan:
    cutoff: int | None  # deletion time (ms) at or before which things go; None = any age
    runs: list[sql.RunRow] = field(default_factory=list)
    models: list[sql.ModelRow] = field(default_factory=list)
    experiments: list[sql.ExperimentRow] = field(default_factory=list)
    kept_runs: list[str] = field(default_factory=list)  # used by live registered model versions
    kept_models: list[str] = field(default_factory=list)
    kept_experiments: list[sql.ExperimentRow] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.runs or self.models or self.experiments)

    @property
    def total(self) -> int:
        return len(self.runs) + len(self.models) + len(self.experiments)


@dataclass
class GcResult:
    runs: int = 0
    models: int = 0
    experiments: int = 0
    skipped: int = 0  # restored (or refilled) while gc ran
    failed: list[tuple[str, str]] = field(default_factory=list)  # (what, why): rows kept


def plan(
    db: Database,
    *,
    cutoff: int | None,
    workspace_id: int | None = None,
    run_ids: Sequence[str] | None = None,
    experiment_ids: Sequence[int] | None = None,
) -> GcPlan:
    """What gc would remove. Named ids must exist, be deleted and be past the retention.

    As in ``mlflow gc``: naming only runs limits gc to them, naming only experiments limits it
    to those experiments (with their runs and logged models); naming neither takes everything.
    """
    f = sql.Filters(
        cutoff,
        workspace_id,
        tuple(dict.fromkeys(run_ids)) if run_ids else None,
        tuple(dict.fromkeys(experiment_ids)) if experiment_ids else None,
    )
    with db.read() as conn:
        if f.run_ids:
            _check_named_runs(conn, f)
        if f.experiment_ids:
            _check_named_experiments(conn, f)
        exps = sql.deleted_experiments(conn, f) if f.experiment_ids or not f.run_ids else []
        runs = sql.deleted_runs(conn, f) if f.run_ids or not f.experiment_ids else []
        runs += sql.runs_of_experiments(conn, exps)
        models = sql.deleted_models(conn, f) if not f.run_ids or f.experiment_ids else []
        models += sql.models_of_experiments(conn, exps)
        runs = list({r.run_id: r for r in runs}.values())
        models = list({m.model_id: m for m in models}.values())
        used_runs, used_models = sql.referenced_by_versions(
            conn, [r.run_id for r in runs], [m.model_id for m in models]
        )
    blocked = {(r.workspace_id, r.experiment_id) for r in runs if r.run_id in used_runs}
    blocked |= {(m.workspace_id, m.experiment_id) for m in models if m.model_id in used_models}
    return GcPlan(
        cutoff=cutoff,
        runs=[r for r in runs if r.run_id not in used_runs],
        models=[m for m in models if m.model_id not in used_models],
        experiments=[e for e in exps if (e.workspace_id, e.experiment_id) not in blocked],
        kept_runs=sorted(used_runs),
        kept_models=sorted(used_models),
        kept_experiments=[e for e in exps if (e.workspace_id, e.experiment_id) in blocked],
    )


def _check_named_runs(conn, f: sql.Filters) -> None:  # noqa: ANN001 - a Connection
    assert f.run_ids is not None
    states = sql.run_states(conn, f.workspace_id, f.run_ids)
    problems = []
    for run_id in f.run_ids:
        state = states.get(run_id)
        if state is None:
            problems.append(f"run {run_id} does not exist")
        elif state[0] != sql.DELETED:
            problems.append(f"run {run_id} is not deleted (only deleted runs can be collected)")
        elif f.cutoff is not None and (state[1] is None or state[1] > f.cutoff):
            problems.append(f"run {run_id} was deleted within the retention period (see --older-than)")
    if problems:
        raise InvalidParameter("Cannot collect the named runs: " + "; ".join(problems) + ".")


def _check_named_experiments(conn, f: sql.Filters) -> None:  # noqa: ANN001 - a Connection
    assert f.experiment_ids is not None
    states = sql.experiment_states(conn, f.workspace_id, f.experiment_ids)
    found = {e.experiment_id for e in sql.deleted_experiments(conn, f)}
    problems = []
    for eid in f.experiment_ids:
        if eid not in states:
            problems.append(f"experiment {eid} does not exist")
        elif states[eid] != sql.DELETED:
            problems.append(f"experiment {eid} is not deleted (only deleted experiments can be collected)")
        elif eid not in found:
            problems.append(f"experiment {eid} was deleted within the retention period (see --older-than)")
    if problems:
        raise InvalidParameter("Cannot collect the named experiments: " + "; ".join(problems) + ".")


# -- execution ----------------------------------------------------------------------------------


def _artifact_root(uri: str | None, owner: str) -> tuple[str, str] | None:
    """(kind, path) of the artifact folder to delete for a run or logged model.

    Proxied artifacts live at ``<exp>/<run_id>/artifacts`` (or ``<exp>/models/<id>/artifacts``):
    the folder named after the owner holds nothing else, so it goes whole.
    """
    path = proxied_path(uri)
    if path is not None:
        parts = split_path(path)
        if len(parts) >= 2 and parts[-1] == "artifacts" and parts[-2] == owner:
            parts = parts[:-1]
        return ("proxied", "/".join(parts)) if parts else None
    return ("uri", uri) if uri else None


def delete_artifacts(backend: ArtifactBackend, uri: str | None, owner: str) -> None:
    root = _artifact_root(uri, owner)
    if root is None:
        return
    kind, where = root
    if kind == "proxied":
        backend.delete(where)
    else:  # the run's own artifact folder elsewhere (file://, s3://, ...): empty it
        artifact_backend(where).delete(None)


def _batches(items: Sequence):  # noqa: ANN202 - a generator of slices
    size = BATCH  # read at call time (tests shrink it)
    for i in range(0, len(items), size):
        yield items[i : i + size]


def execute(
    db: Database, backend: ArtifactBackend, p: GcPlan, advance: Callable[[int], None] = lambda n: None
) -> GcResult:
    """Carry out a plan. ``advance(n)`` is told about each finished item (a progress bar)."""
    result = GcResult()
    for batch in _batches(p.runs):
        with db.read() as conn:
            states = sql.run_states(conn, None, [r.run_id for r in batch])
        deleted = [r for r in batch if states.get(r.run_id, ("",))[0] == sql.DELETED]
        done = _purge_batch(db, backend, batch, deleted, "run", result)
        result.runs += len(done)
        log.info("purged %d runs: %s", len(done), ", ".join(done))
        advance(len(batch))
    for batch in _batches(p.models):
        with db.read() as conn:
            still = set(sql.purgeable_models(conn, [m.model_id for m in batch]))
        # A model whose experiment was restored meanwhile is no longer purgeable.
        deleted = [m for m in batch if m.model_id in still]
        done = _purge_batch(db, backend, batch, deleted, "model", result)
        result.models += len(done)
        log.info("purged %d logged models: %s", len(done), ", ".join(done))
        advance(len(batch))
    for exp in p.experiments:
        _purge_experiment(db, backend, exp, result)
        advance(1)
    return result


def _purge_batch(
    db: Database,
    backend: ArtifactBackend,
    batch: Sequence[sql.RunRow] | Sequence[sql.ModelRow],
    deleted: Sequence[sql.RunRow] | Sequence[sql.ModelRow],
    kind: str,
    result: GcResult,
) -> list[str]:
    """Files first, then rows: delete the artifacts of the still-deleted items of ``batch``
    and purge the rows of those whose files went (one transaction). Returns the purged ids."""
    label = "run" if kind == "run" else "logged model"
    ready = []
    for item in deleted:
        item_id, location = (
            (item.run_id, item.artifact_uri) if kind == "run" else (item.model_id, item.artifact_location)
        )
        try:
            delete_artifacts(backend, location, item_id)
            ready.append(item_id)
        except Exception as exc:  # noqa: BLE001 - reported; the item's rows stay for a rerun
            log.error("%s %s: artifacts not deleted (%s); kept for the next gc", label, item_id, exc)
            result.failed.append((f"{label} {item_id}", str(exc)))
    purge = sql.purge_runs if kind == "run" else sql.purge_models
    done = db.write(lambda conn: _audited(conn, batch, purge(conn, ready), kind)) if ready else []
    result.skipped += len(batch) - len(deleted) + len(ready) - len(done)
    return done


def _audited(conn, batch: Sequence, done: list[str], kind: str) -> list[str]:  # noqa: ANN001
    """One audit entry per workspace and batch, in the purge's own transaction."""
    gone = set(done)
    by_ws: dict[int, list[str]] = {}
    for item in batch:
        key = item.run_id if kind == "run" else item.model_id
        if key in gone:
            by_ws.setdefault(item.workspace_id, []).append(key)
    for wid, ids in by_ws.items():
        what = "runs" if kind == "run" else "logged models"
        audit.record(conn, wid, f"{kind}.purge", f"{len(ids)} {what}", {"ids": ids}, actor=ACTOR)
    return done


def _purge_experiment(
    db: Database, backend: ArtifactBackend, exp: sql.ExperimentRow, result: GcResult
) -> None:
    with db.read() as conn:
        state = sql.experiment_states(conn, exp.workspace_id, [exp.experiment_id]).get(exp.experiment_id)
        # A run whose files could not be deleted (or restored meanwhile) keeps the experiment.
        busy = sql.holds_runs_or_models(conn, exp.workspace_id, exp.experiment_id)
    if state != sql.DELETED or busy:
        result.skipped += 1
        return
    # Only the folder Runyard made for the experiment (``<id>`` under the proxied store) goes
    # whole; a location the user chose may be shared, so there only runs' own folders went.
    path = proxied_path(exp.artifact_location)
    if path is not None and split_path(path) == [str(exp.experiment_id)] and exp.experiment_id != 0:
        try:
            backend.delete(path)
        except Exception as exc:  # noqa: BLE001 - reported; the experiment row stays
            log.error("experiment %s: artifacts not deleted (%s)", exp.experiment_id, exc)
            result.failed.append((f"experiment {exp.experiment_id}", str(exc)))
            return

    def tx(conn) -> bool:  # noqa: ANN001
        if not sql.purge_experiment(conn, exp.workspace_id, exp.experiment_id):
            return False
        target = f"{exp.name} (id {exp.experiment_id})"
        audit.record(conn, exp.workspace_id, "experiment.purge", target, actor=ACTOR)
        return True

    if db.write(tx):
        result.experiments += 1
        log.info("purged experiment %s (%s)", exp.experiment_id, exp.name)
    else:
        result.skipped += 1


__all__ = ["GcPlan", "GcResult", "delete_artifacts", "execute", "parse_duration", "plan"]
