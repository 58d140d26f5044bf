"""Handlers for /api/2.0/mlflow/model-versions/*: decode → service → encode."""

from __future__ import annotations

from runyard.api.call import Call
from runyard.api.registered_models import version_to_wire
from runyard.api.wire import registry as w
from runyard.api.wire.base import Empty


def create(call: Call, req: w.CreateModelVersion) -> w.ModelVersionResponse:
    mv = call.services.model_versions.create(
        call.workspace,
        req.name,
        req.source,
        req.run_id,
        {t.key: t.value for t in req.tags},
        req.run_link,
        req.description,
        req.model_id,
        user_id=call.user,
    )
    return w.ModelVersionResponse(model_version=version_to_wire(mv))


def get(call: Call, req: w.ModelVersionRef) -> w.ModelVersionResponse:
    mv = call.services.model_versions.get(call.workspace, req.name, req.version)
    return w.ModelVersionResponse(model_version=version_to_wire(mv))


def update(call: Call, req: w.UpdateModelVersion) -> w.ModelVersionResponse:
    mv = call.services.model_versions.update(call.workspace, req.name, req.version, req.description)
    return w.ModelVersionResponse(model_version=version_to_wire(mv))


def transition_stage(call: Call, req: w.TransitionModelVersionStage) -> w.ModelVersionResponse:
    mv = call.services.model_versions.transition_stage(
        call.workspace, req.name, req.version, req.stage, req.archive_existing_versions
    )
    return w.ModelVersionResponse(model_version=version_to_wire(mv))


def delete(call: Call, req: w.ModelVersionRef) -> Empty:
    call.services.model_versions.delete(call.workspace, req.name, req.version)
    return Empty()


def download_uri(call: Call, req: w.ModelVersionRef) -> w.GetModelVersionDownloadUriResponse:
    uri = call.services.model_versions.download_uri(call.workspace, req.name, req.version)
    return w.GetModelVersionDownloadUriResponse(artifact_uri=uri)


def search(call: Call, req: w.SearchModelVersions) -> w.SearchModelVersionsResponse:
    page = call.services.model_versions.search(
        call.workspace, req.filter, req.order_by, req.max_results, req.page_token
    )
    return w.SearchModelVersionsResponse(
        model_versions=[version_to_wire(mv) for mv in page.items], next_page_token=page.next_page_token
    )


def set_tag(call: Call, req: w.SetModelVersionTag) -> Empty:
    call.services.model_versions.set_tag(call.workspace, req.name, req.version, req.key, req.value)
    return Empty()


def delete_tag(call: Call, req: w.DeleteModelVersionTag) -> Empty:
    call.services.model_versions.delete_tag(call.workspace, req.name, req.version, req.key)
    return Empty()
