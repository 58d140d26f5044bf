"""SQL for run inputs and outputs: datasets (with input tags) and logged-model edges.

The ``inputs`` table holds edges as MLflow does: DATASET -> RUN for dataset inputs,
RUN_INPUT -> MODEL_INPUT for models a run consumed, RUN_OUTPUT -> MODEL_OUTPUT (with a step)
for models it produced. Datasets are shared per experiment by (name, digest).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, and_, bindparam, or_, select, tuple_

from runyard.store.sql.dialect import any_of, dialect_insert, fetch_raw, in_ids, insert_ignore
from runyard.store.sql.prepared import Prepared
from runyard.store.sql.schema import datasets, input_tags, inputs

DATASET, RUN = "DATASET", "RUN"
RUN_INPUT, MODEL_INPUT = "RUN_INPUT", "MODEL_INPUT"
RUN_OUTPUT, MODEL_OUTPUT = "RUN_OUTPUT", "MODEL_OUTPUT"

# name, digest, source_type, source, schema, profile
DatasetFields = tuple[str, str, str, str, str | None, str | None]
# ... plus the input's tags
DatasetRow = tuple[str, str, str, str, str | None, str | None, dict[str, str]]


@dataclass
class RunLinks:
    datasets: dict[str, list[DatasetRow]] = field(default_factory=dict)
    model_inputs: dict[str, list[str]] = field(default_factory=dict)
    model_outputs: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


# -- writes --------------------------------------------------------------------------------


def log_datasets(
    conn: Connection,
    wid: int,
    experiment_id: int,
    run_id: str,
    items: Sequence[tuple[DatasetFields, dict[str, str]]],
) -> None:
    """Link datasets (created once per experiment) to a run; an existing link keeps its tags.

    ``items`` must already be unique by (name, digest).
    """
    if not items:
        return
    d = datasets.c
    keys = [(f[0], f[1]) for f, _ in items]
    insert_ignore(
        conn,
        datasets,
        [
            {
                "dataset_uuid": uuid.uuid4().hex,
                "workspace_id": wid,
                "experiment_id": experiment_id,
                "name": f[0],
                "digest": f[1],
                "dataset_source_type": f[2],
                "dataset_source": f[3],
                "dataset_schema": f[4],
                "dataset_profile": f[5],
            }
            for f, _ in items
        ],
    )
    # Read back: a dataset logged earlier (or concurrently) keeps its first uuid.
    found = conn.execute(
        select(d.name, d.digest, d.dataset_uuid).where(
            d.workspace_id == wid, d.experiment_id == experiment_id, tuple_(d.name, d.digest).in_(keys)
        )
    )
    uuids = {(name, digest): dataset_uuid for name, digest, dataset_uuid in found}
    edges = {uuids[(f[0], f[1])]: (uuid.uuid4().hex, tags) for f, tags in items}
    insert_ignore(
        conn,
        inputs,
        [
            {
                "input_uuid": input_uuid,
                "workspace_id": wid,
                "source_type": DATASET,
                "source_id": dataset_uuid,
                "destination_type": RUN,
                "destination_id": run_id,
                "step": 0,
            }
            for dataset_uuid, (input_uuid, _) in edges.items()
        ],
    )
    i = inputs.c
    stored = conn.execute(
        select(i.source_id, i.input_uuid).where(
            i.workspace_id == wid,
            i.destination_type == RUN,
            i.destination_id == run_id,
            i.source_type == DATASET,
            i.source_id.in_(list(edges)),
        )
    )
    # Tags only for the edges this call created, as MLflow does.
    created = [edges[src] for src, input_uuid in stored if edges[src][0] == input_uuid]
    tag_rows = [
        {"workspace_id": wid, "input_uuid": input_uuid, "name": k, "value": v}
        for input_uuid, tags in created
        for k, v in tags.items()
    ]
    insert_ignore(conn, input_tags, tag_rows)


def log_model_inputs(conn: Connection, wid: int, run_id: str, model_ids: Sequence[str]) -> None:
    insert_ignore(
        conn,
        inputs,
        [
            {
                "input_uuid": uuid.uuid4().hex,
                "workspace_id": wid,
                "source_type": RUN_INPUT,
                "source_id": run_id,
                "destination_type": MODEL_INPUT,
                "destination_id": model_id,
                "step": 0,
            }
            for model_id in dict.fromkeys(model_ids)
        ],
    )


def log_model_outputs(conn: Connection, wid: int, run_id: str, outputs: Sequence[tuple[str, int]]) -> None:
    """Record models a run produced; logging one again updates its step."""
    if not outputs:
        return
    stmt = dialect_insert(conn, inputs)
    stmt = stmt.on_conflict_do_update(
        index_elements=["source_type", "source_id", "destination_type", "destination_id"],
        set_={"step": stmt.excluded.step},
    )
    last = dict(outputs)  # one row per model: the last step given wins
    conn.execute(
        stmt,
        [
            {
                "input_uuid": uuid.uuid4().hex,
                "workspace_id": wid,
                "source_type": RUN_OUTPUT,
                "source_id": run_id,
                "destination_type": MODEL_OUTPUT,
                "destination_id": model_id,
                "step": step,
            }
            for model_id, step in sorted(last.items())
        ],
    )


# -- reads ---------------------------------------------------------------------------------


# Every input/output edge that touches one of a page of runs (prepared: it runs per page).
_EDGES_OF_RUNS = Prepared(
    lambda d: select(
        inputs.c.input_uuid, inputs.c.source_type, inputs.c.source_id, inputs.c.destination_id, inputs.c.step
    ).where(
        inputs.c.workspace_id == bindparam("wid"),
        or_(
            and_(inputs.c.destination_type == RUN, any_of(d, inputs.c.destination_id)),
            and_(
                or_(inputs.c.source_type == RUN_INPUT, inputs.c.source_type == RUN_OUTPUT),
                any_of(d, inputs.c.source_id),
            ),
        ),
    )
)


def for_runs(conn: Connection, wid: int, run_ids: str) -> RunLinks:
    """Inputs and outputs of many runs: one query for all edges, one for datasets if any;
    ``run_ids`` as :func:`~runyard.store.sql.dialect.ids_value` makes it."""
    links = RunLinks()
    dataset_edges: dict[str, tuple[str, str]] = {}  # input_uuid -> (run_id, dataset_uuid)
    edges = _EDGES_OF_RUNS.rows(conn, wid=wid, ids=run_ids)
    for input_uuid, source_type, source_id, destination_id, step in edges:
        if source_type == DATASET:
            dataset_edges[input_uuid] = (destination_id, source_id)
        elif source_type == RUN_INPUT:
            links.model_inputs.setdefault(source_id, []).append(destination_id)
        else:
            links.model_outputs.setdefault(source_id, []).append((destination_id, step))
    if dataset_edges:
        _attach_datasets(conn, wid, dataset_edges, links)
    return links


def _attach_datasets(conn: Connection, wid: int, edges: dict[str, tuple[str, str]], links: RunLinks) -> None:
    d, t = datasets.c, input_tags.c
    uuids = list({dataset_uuid for _, dataset_uuid in edges.values()})
    stmt = select(
        d.dataset_uuid,
        d.name,
        d.digest,
        d.dataset_source_type,
        d.dataset_source,
        d.dataset_schema,
        d.dataset_profile,
    ).where(d.workspace_id == wid, in_ids(conn, d.dataset_uuid, uuids))
    fields: dict[str, DatasetFields] = {row[0]: row[1:] for row in fetch_raw(conn, stmt)}
    tags: dict[str, dict[str, str]] = {}
    stmt = select(t.input_uuid, t.name, t.value).where(
        t.workspace_id == wid, in_ids(conn, t.input_uuid, list(edges))
    )
    for input_uuid, name, value in fetch_raw(conn, stmt):
        tags.setdefault(input_uuid, {})[name] = value
    for input_uuid, (run_id, dataset_uuid) in edges.items():
        if dataset_uuid in fields:
            links.datasets.setdefault(run_id, []).append((*fields[dataset_uuid], tags.get(input_uuid, {})))


__all__ = ["RunLinks", "for_runs", "log_datasets", "log_model_inputs", "log_model_outputs"]
