"""Handlers for /api/2.0/mlflow/runs/*: decode → service → encode."""

from __future__ import annotations

from runyard.api.call import Call
from runyard.api.wire import runs as w
from runyard.api.wire.base import Empty, KeyValue, wire_float
from runyard.entities import Run, RunInfo


def info_to_wire(i: RunInfo) -> w.RunInfo:
    return w.RunInfo(
        run_id=i.run_id,
        run_uuid=i.run_id,
        run_name=i.run_name,
        experiment_id=str(i.experiment_id),
        user_id=i.user_id,
        status=i.status,
        start_time=i.start_time,
        end_time=i.end_time,
        artifact_uri=i.artifact_uri,
        lifecycle_stage=i.lifecycle_stage,
    )


# Most runs log no inputs or outputs: theirs are these two, shared (a message is never
# changed once built), instead of two messages and three lists built per run of a page.
_NO_INPUTS = w.RunInputs()
_NO_OUTPUTS = w.RunOutputs()


def to_wire(r: Run) -> w.Run:
    Metric = w.Metric  # noqa: N806 - local alias: this loop runs for every metric of a page
    return w.Run(
        info=info_to_wire(r.info),
        data=w.RunData(
            metrics=[
                Metric(key=k, value=wire_float(val), timestamp=ts, step=step)
                for k, val, ts, step in r.metrics
            ],
            params=[KeyValue(key=k, value=val) for k, val in r.params.items()],
            tags=[KeyValue(key=k, value=val) for k, val in r.tags.items()],
        ),
        inputs=_inputs_to_wire(r) if r.dataset_inputs or r.model_inputs else _NO_INPUTS,
        outputs=(
            w.RunOutputs(model_outputs=[w.ModelOutput(model_id=m, step=s) for m, s in r.model_outputs])
            if r.model_outputs
            else _NO_OUTPUTS
        ),
    )


def _inputs_to_wire(r: Run) -> w.RunInputs:
    return w.RunInputs(
        dataset_inputs=[
            w.DatasetInput(
                tags=[KeyValue(key=k, value=val) for k, val in d.tags.items()],
                dataset=w.Dataset(
                    name=d.name,
                    digest=d.digest,
                    source_type=d.source_type,
                    source=d.source,
                    schema=d.schema,
                    profile=d.profile,
                ),
            )
            for d in r.dataset_inputs
        ],
        model_inputs=[w.ModelInput(model_id=m) for m in r.model_inputs],
    )


def create(call: Call, req: w.CreateRun) -> w.CreateRunResponse:
    run = call.services.runs.create(
        call.workspace, req.experiment_id, req.user_id, req.run_name, req.start_time, req.tags, call.user
    )
    return w.CreateRunResponse(run=to_wire(run))


def get(call: Call, req: w.GetRun) -> w.GetRunResponse:
    return w.GetRunResponse(run=to_wire(call.services.runs.get(call.workspace, req.run_id or req.run_uuid)))


def update(call: Call, req: w.UpdateRun) -> w.UpdateRunResponse:
    info = call.services.runs.update(
        call.workspace, req.run_id or req.run_uuid, req.status, req.end_time, req.run_name
    )
    return w.UpdateRunResponse(run_info=info_to_wire(info))


def delete(call: Call, req: w.RunId) -> Empty:
    call.services.runs.delete(call.workspace, req.run_id)
    return Empty()


def restore(call: Call, req: w.RunId) -> Empty:
    call.services.runs.restore(call.workspace, req.run_id)
    return Empty()


def search(call: Call, req: w.SearchRuns) -> w.SearchRunsResponse:
    page = call.services.runs.search(
        call.workspace,
        req.experiment_ids,
        req.filter,
        req.run_view_type,
        req.max_results,
        req.order_by,
        req.page_token,
    )
    return w.SearchRunsResponse(runs=[to_wire(r) for r in page.items], next_page_token=page.next_page_token)


def log_metric(call: Call, req: w.LogMetric) -> Empty:
    call.services.runs.log.metric(call.workspace, req.run_id or req.run_uuid, req)
    return Empty()


def log_param(call: Call, req: w.LogParam) -> Empty:
    call.services.runs.log.param(call.workspace, req.run_id or req.run_uuid, req)
    return Empty()


def set_tag(call: Call, req: w.SetTag) -> Empty:
    call.services.runs.log.set_tag(call.workspace, req.run_id or req.run_uuid, req)
    return Empty()


def delete_tag(call: Call, req: w.DeleteTag) -> Empty:
    call.services.runs.log.delete_tag(call.workspace, req.run_id, req.key)
    return Empty()


def log_batch(call: Call, req: w.LogBatch) -> Empty:
    call.services.runs.log.batch(call.workspace, req.run_id, req.metrics, req.params, req.tags)
    return Empty()


def log_inputs(call: Call, req: w.LogInputs) -> Empty:
    datasets = [({} if d.dataset is None else _dataset_fields(d.dataset), d.tags) for d in req.datasets]
    call.services.runs.log.inputs(call.workspace, req.run_id, datasets, [m.model_id for m in req.models])
    return Empty()


def _dataset_fields(d: w.Dataset) -> dict[str, str | None]:
    return {
        "name": d.name,
        "digest": d.digest,
        "source_type": d.source_type,
        "source": d.source,
        "schema": d.schema,
        "profile": d.profile,
    }


def log_outputs(call: Call, req: w.LogOutputs) -> Empty:
    models = None if req.models is None else [(m.model_id, m.step) for m in req.models]
    call.services.runs.log.outputs(call.workspace, req.run_id, models)
    return Empty()


def log_model(call: Call, req: w.LogModel) -> Empty:
    call.services.runs.log.model(call.workspace, req.run_id, req.model_json)
    return Empty()
