"""Handlers for /api/2.0/mlflow/logged-models/* (MLflow 3 logged models)."""

from __future__ import annotations

import msgspec

from runyard.api.call import Call
from runyard.api.wire import logged_models as w
from runyard.api.wire.base import Empty, KeyValue, wire_float
from runyard.entities import LoggedModel


def _pairs(items: list[KeyValue]) -> list[tuple[str | None, str | None]]:
    return [(kv.key, kv.value) for kv in items]


def to_wire(m: LoggedModel) -> w.LoggedModel:
    return w.LoggedModel(
        info=w.LoggedModelInfo(
            model_id=m.model_id,
            experiment_id=str(m.experiment_id),
            name=m.name,
            creation_timestamp_ms=m.creation_timestamp,
            last_updated_timestamp_ms=m.last_updated_timestamp,
            artifact_uri=m.artifact_location,
            status=w.STATUS_NAMES[m.status] if 0 <= m.status < len(w.STATUS_NAMES) else w.STATUS_NAMES[0],
            model_type=m.model_type,
            source_run_id=m.source_run_id,
            status_message=m.status_message,
            tags=[KeyValue(key=k, value=v) for k, v in m.tags.items()],
        ),
        data=w.LoggedModelData(
            params=[KeyValue(key=k, value=v) for k, v in m.params.items()],
            metrics=[
                w.ModelMetric(
                    key=x.key,
                    value=wire_float(x.value),
                    timestamp=x.timestamp,
                    step=x.step,
                    dataset_name=x.dataset_name,
                    dataset_digest=x.dataset_digest,
                    model_id=x.model_id,
                    run_id=x.run_id,
                )
                for x in m.metrics
            ],
        ),
    )


def create(call: Call, req: w.CreateLoggedModel) -> w.LoggedModelResponse:
    """Create a logged model (status PENDING) in an experiment."""
    model = call.services.logged_models.create(
        call.workspace,
        req.experiment_id,
        req.name,
        req.model_type,
        req.source_run_id,
        _pairs(req.params),
        _pairs(req.tags),
    )
    return w.LoggedModelResponse(model=to_wire(model))


def get(call: Call, req: w.GetLoggedModel) -> w.LoggedModelResponse:
    """Get a logged model with its params, tags and metrics."""
    allow_deleted = (req.allow_deleted or "").lower() == "true"
    model = call.services.logged_models.get(call.workspace, call.path_param("model_id"), allow_deleted)
    return w.LoggedModelResponse(model=to_wire(model))


def finalize(call: Call, req: w.FinalizeLoggedModel) -> w.LoggedModelResponse:
    """Set a logged model's status (READY or FAILED once its artifacts are uploaded)."""
    model = call.services.logged_models.finalize(call.workspace, call.path_param("model_id"), req.status)
    return w.LoggedModelResponse(model=to_wire(model))


def delete(call: Call, _req: w.DeleteLoggedModel) -> Empty:
    """Delete a logged model (it stays readable with allow_deleted=true)."""
    call.services.logged_models.delete(call.workspace, call.path_param("model_id"))
    return Empty()


def log_params(call: Call, req: w.LogLoggedModelParams) -> Empty:
    """Add params to a logged model."""
    call.services.logged_models.log_params(call.workspace, call.path_param("model_id"), _pairs(req.params))
    return Empty()


def set_tags(call: Call, req: w.SetLoggedModelTags) -> Empty:
    """Set (add or overwrite) tags on a logged model."""
    call.services.logged_models.set_tags(call.workspace, call.path_param("model_id"), _pairs(req.tags))
    return Empty()


def delete_tag(call: Call, _req: None) -> Empty:
    """Delete one tag from a logged model."""
    call.services.logged_models.delete_tag(
        call.workspace, call.path_param("model_id"), call.path_param("tag_key")
    )
    return Empty()


def search(call: Call, req: w.SearchLoggedModels) -> w.SearchLoggedModelsResponse:
    """Search logged models by filter, datasets and order_by, a page at a time."""
    page = call.services.logged_models.search(
        call.workspace,
        req.experiment_ids,
        req.filter,
        [msgspec.structs.asdict(d) for d in req.datasets],
        req.max_results,
        [{k: v for k, v in msgspec.structs.asdict(o).items() if v is not None} for o in req.order_by],
        req.page_token,
    )
    return w.SearchLoggedModelsResponse(
        models=[to_wire(m) for m in page.items], next_page_token=page.next_page_token
    )
