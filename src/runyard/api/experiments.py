"""Handlers for /api/2.0/mlflow/experiments/*: decode → service → encode."""

from __future__ import annotations

from runyard.api.call import Call
from runyard.api.wire import experiments as w
from runyard.api.wire.base import Empty, KeyValue
from runyard.entities import Experiment


def to_wire(e: Experiment, workspace: str) -> w.Experiment:
    return w.Experiment(
        experiment_id=str(e.experiment_id),
        name=e.name,
        artifact_location=e.artifact_location,
        lifecycle_stage=e.lifecycle_stage,
        last_update_time=e.last_update_time,
        creation_time=e.creation_time,
        tags=[KeyValue(key=k, value=v) for k, v in e.tags.items()],
        workspace=workspace,
    )


def create(call: Call, req: w.CreateExperiment) -> w.CreateExperimentResponse:
    tags = {t.key: t.value for t in req.tags}
    eid = call.services.experiments.create(call.workspace, req.name, req.artifact_location, tags)
    return w.CreateExperimentResponse(experiment_id=str(eid))


def get(call: Call, req: w.GetExperiment) -> w.GetExperimentResponse:
    return w.GetExperimentResponse(
        experiment=to_wire(
            call.services.experiments.get(call.workspace, req.experiment_id), call.workspace.name
        )
    )


def get_by_name(call: Call, req: w.GetExperimentByName) -> w.GetExperimentResponse:
    exp = call.services.experiments.get_by_name(call.workspace, req.experiment_name)
    return w.GetExperimentResponse(experiment=to_wire(exp, call.workspace.name))


def search(call: Call, req: w.SearchExperiments) -> w.SearchExperimentsResponse:
    page = call.services.experiments.search(
        call.workspace, req.filter, req.order_by, req.view_type, req.max_results, req.page_token
    )
    return w.SearchExperimentsResponse(
        experiments=[to_wire(e, call.workspace.name) for e in page.items],
        next_page_token=page.next_page_token,
    )


def update(call: Call, req: w.UpdateExperiment) -> Empty:
    call.services.experiments.rename(call.workspace, req.experiment_id, req.new_name)
    return Empty()


def delete(call: Call, req: w.DeleteExperiment) -> Empty:
    call.services.experiments.set_lifecycle(call.workspace, req.experiment_id, "deleted")
    return Empty()


def restore(call: Call, req: w.RestoreExperiment) -> Empty:
    call.services.experiments.set_lifecycle(call.workspace, req.experiment_id, "active")
    return Empty()


def set_tag(call: Call, req: w.SetExperimentTag) -> Empty:
    call.services.experiments.set_tag(call.workspace, req.experiment_id, req.key, req.value)
    return Empty()


def delete_tag(call: Call, req: w.DeleteExperimentTag) -> Empty:
    call.services.experiments.delete_tag(call.workspace, req.experiment_id, req.key)
    return Empty()
