"""Handlers for /api/2.0/mlflow/registered-models/*: decode → service → encode."""

from __future__ import annotations

from runyard.api.call import Call
from runyard.api.wire import registry as w
from runyard.api.wire.base import Empty, KeyValue
from runyard.entities import ModelVersion, RegisteredModel


def version_to_wire(mv: ModelVersion) -> w.ModelVersion:
    # MLflow's server always names a version's description and run link, empty or not.
    return w.ModelVersion(
        name=mv.name,
        version=str(mv.version),
        creation_timestamp=mv.creation_time,
        last_updated_timestamp=mv.last_updated_time,
        user_id=mv.user_id,
        current_stage=mv.current_stage,
        description=mv.description or "",
        source=mv.source,
        run_id=mv.run_id,
        status=mv.status,
        status_message=mv.status_message,
        tags=[KeyValue(key=k, value=v) for k, v in mv.tags.items()],
        run_link=mv.run_link or "",
        aliases=mv.aliases,
        model_id=mv.model_id,
    )


def to_wire(rm: RegisteredModel) -> w.RegisteredModel:
    return w.RegisteredModel(
        name=rm.name,
        creation_timestamp=rm.creation_time,
        last_updated_timestamp=rm.last_updated_time,
        description=rm.description,
        latest_versions=[version_to_wire(mv) for mv in rm.latest_versions],
        tags=[KeyValue(key=k, value=v) for k, v in rm.tags.items()],
        aliases=[w.RegisteredModelAlias(alias=a, version=str(n)) for a, n in rm.aliases.items()],
    )


def create(call: Call, req: w.CreateRegisteredModel) -> w.RegisteredModelResponse:
    tags = {t.key: t.value for t in req.tags}
    rm = call.services.registry.create(call.workspace, req.name, tags, req.description)
    return w.RegisteredModelResponse(registered_model=to_wire(rm))


def get(call: Call, req: w.GetRegisteredModel) -> w.RegisteredModelResponse:
    return w.RegisteredModelResponse(
        registered_model=to_wire(call.services.registry.get(call.workspace, req.name))
    )


def update(call: Call, req: w.UpdateRegisteredModel) -> w.RegisteredModelResponse:
    rm = call.services.registry.update(call.workspace, req.name, req.description)
    return w.RegisteredModelResponse(registered_model=to_wire(rm))


def rename(call: Call, req: w.RenameRegisteredModel) -> w.RegisteredModelResponse:
    rm = call.services.registry.rename(call.workspace, req.name, req.new_name)
    return w.RegisteredModelResponse(registered_model=to_wire(rm))


def delete(call: Call, req: w.DeleteRegisteredModel) -> Empty:
    call.services.registry.delete(call.workspace, req.name)
    return Empty()


def search(call: Call, req: w.SearchRegisteredModels) -> w.SearchRegisteredModelsResponse:
    page = call.services.registry.search(
        call.workspace, req.filter, req.order_by, req.max_results, req.page_token
    )
    return w.SearchRegisteredModelsResponse(
        registered_models=[to_wire(rm) for rm in page.items], next_page_token=page.next_page_token
    )


def latest_versions(call: Call, req: w.GetLatestVersions) -> w.ModelVersionsResponse:
    found = call.services.registry.latest_versions(call.workspace, req.name, req.stages)
    return w.ModelVersionsResponse(model_versions=[version_to_wire(mv) for mv in found])


def set_tag(call: Call, req: w.SetRegisteredModelTag) -> Empty:
    call.services.registry.set_tag(call.workspace, req.name, req.key, req.value)
    return Empty()


def delete_tag(call: Call, req: w.DeleteRegisteredModelTag) -> Empty:
    call.services.registry.delete_tag(call.workspace, req.name, req.key)
    return Empty()


def set_alias(call: Call, req: w.SetRegisteredModelAlias) -> Empty:
    call.services.registry.set_alias(call.workspace, req.name, req.alias, req.version)
    return Empty()


def delete_alias(call: Call, req: w.DeleteRegisteredModelAlias) -> Empty:
    call.services.registry.delete_alias(call.workspace, req.name, req.alias)
    return Empty()


def get_by_alias(call: Call, req: w.GetModelVersionByAlias) -> w.ModelVersionResponse:
    mv = call.services.registry.version_by_alias(call.workspace, req.name, req.alias)
    return w.ModelVersionResponse(model_version=version_to_wire(mv))
