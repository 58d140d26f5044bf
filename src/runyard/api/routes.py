"""The one route table. Every API path of Runyard appears here and nowhere else.

Paths are relative to ``/api`` (each is also served under ``/ajax-api`` and under
``/w/<workspace>/``, see api/router.py). ``access`` declares what the caller needs; the
access layer reads it from here, so a route cannot exist without its check.
"""

from __future__ import annotations

from runyard.api import access as acc
from runyard.api import artifacts, experiments, oauth, openapi, presigned, server, workspaces
from runyard.api import batch_jobs as bj
from runyard.api import endpoints as ep
from runyard.api import logged_models as lm
from runyard.api import metrics as met
from runyard.api import model_versions as mv
from runyard.api import registered_models as rm
from runyard.api import runs as rn
from runyard.api.call import Access, Route
from runyard.api.wire import access as acc_w
from runyard.api.wire import artifacts as art_w
from runyard.api.wire import batch_jobs as bj_w
from runyard.api.wire import endpoints as ep_w
from runyard.api.wire import experiments as exp_w
from runyard.api.wire import logged_models as lm_w
from runyard.api.wire import registry as rg_w
from runyard.api.wire import runs as run_w
from runyard.api.wire import workspaces as ws_w

R, W, M, A, P = Access.READ, Access.WRITE, Access.MANAGE, Access.ADMIN, Access.PUBLIC
U = Access.AUTHENTICATED
_T = "/2.0/mlflow"
_MA = "/2.0/mlflow-artifacts"
_RM, _MV = f"{_T}/registered-models", f"{_T}/model-versions"
_RY = "/2.0/runyard"
_EP = f"{_RY}/endpoints/{{endpoint}}"
_DP = f"{_EP}/deployments/{{deployment}}"


def routes() -> list[Route]:
    return [
        # -- server ----------------------------------------------------------------------
        Route("GET", "/3.0/mlflow/server-info", server.server_info, None, P, summary="Server capabilities"),
        Route("GET", "/openapi.json", openapi.document, None, P, summary="This OpenAPI document"),
        # -- workspaces ------------------------------------------------------------------
        # Listing shows each caller the workspaces they belong to (admins: all).
        Route("GET", "/3.0/mlflow/workspaces", workspaces.list_, None, U),
        Route("POST", "/3.0/mlflow/workspaces", workspaces.create, ws_w.CreateWorkspace, A),
        Route("GET", "/3.0/mlflow/workspaces/{name}", workspaces.get, None, R, workspace_param="name"),
        Route("PATCH", "/3.0/mlflow/workspaces/{name}", workspaces.update, ws_w.UpdateWorkspace, A),
        Route("DELETE", "/3.0/mlflow/workspaces/{name}", workspaces.delete, None, A),
        # -- experiments -----------------------------------------------------------------
        Route("POST", f"{_T}/experiments/create", experiments.create, exp_w.CreateExperiment, W),
        Route("GET", f"{_T}/experiments/get", experiments.get, exp_w.GetExperiment, R),
        Route("GET", f"{_T}/experiments/get-by-name", experiments.get_by_name, exp_w.GetExperimentByName, R),
        Route("GET", f"{_T}/experiments/search", experiments.search, exp_w.SearchExperiments, R),
        Route("POST", f"{_T}/experiments/search", experiments.search, exp_w.SearchExperiments, R),
        Route("POST", f"{_T}/experiments/update", experiments.update, exp_w.UpdateExperiment, W),
        Route("POST", f"{_T}/experiments/delete", experiments.delete, exp_w.DeleteExperiment, W),
        Route("POST", f"{_T}/experiments/restore", experiments.restore, exp_w.RestoreExperiment, W),
        Route("POST", f"{_T}/experiments/set-experiment-tag", experiments.set_tag, exp_w.SetExperimentTag, W),
        Route(
            "POST",
            f"{_T}/experiments/delete-experiment-tag",
            experiments.delete_tag,
            exp_w.DeleteExperimentTag,
            W,
        ),
        # -- runs, metrics, params, tags, inputs (runs helper) ---------------------------
        Route("POST", f"{_T}/runs/create", rn.create, run_w.CreateRun, W),
        Route("GET", f"{_T}/runs/get", rn.get, run_w.GetRun, R),
        Route("POST", f"{_T}/runs/update", rn.update, run_w.UpdateRun, W),
        Route("POST", f"{_T}/runs/delete", rn.delete, run_w.RunId, W),
        Route("POST", f"{_T}/runs/restore", rn.restore, run_w.RunId, W),
        Route("POST", f"{_T}/runs/search", rn.search, run_w.SearchRuns, R),
        Route("GET", f"{_T}/runs/search", rn.search, run_w.SearchRuns, R),
        Route("POST", f"{_T}/runs/log-metric", rn.log_metric, run_w.LogMetric, W),
        Route("POST", f"{_T}/runs/log-parameter", rn.log_param, run_w.LogParam, W),
        Route("POST", f"{_T}/runs/set-tag", rn.set_tag, run_w.SetTag, W),
        Route("POST", f"{_T}/runs/delete-tag", rn.delete_tag, run_w.DeleteTag, W),
        Route("POST", f"{_T}/runs/log-batch", rn.log_batch, run_w.LogBatch, W),
        Route("POST", f"{_T}/runs/log-inputs", rn.log_inputs, run_w.LogInputs, W),
        Route("POST", f"{_T}/runs/outputs", rn.log_outputs, run_w.LogOutputs, W),
        Route("POST", f"{_T}/runs/log-model", rn.log_model, run_w.LogModel, W),
        Route("GET", f"{_T}/metrics/get-history", met.get_history, run_w.GetMetricHistory, R),
        Route(
            "GET",
            f"{_T}/metrics/get-history-bulk-interval",
            met.get_history_bulk_interval,
            run_w.GetMetricHistoryBulkInterval,
            R,
        ),
        Route("GET", f"{_T}/metrics/get-history-bulk", met.get_history_bulk, run_w.GetMetricHistoryBulk, R),
        # -- logged models (MLflow 3) ----------------------------------------------------
        Route("POST", f"{_T}/logged-models", lm.create, lm_w.CreateLoggedModel, W),
        Route("POST", f"{_T}/logged-models/search", lm.search, lm_w.SearchLoggedModels, R),
        Route("GET", f"{_T}/logged-models/{{model_id}}", lm.get, lm_w.GetLoggedModel, R),
        Route("PATCH", f"{_T}/logged-models/{{model_id}}", lm.finalize, lm_w.FinalizeLoggedModel, W),
        Route("DELETE", f"{_T}/logged-models/{{model_id}}", lm.delete, lm_w.DeleteLoggedModel, W),
        Route("POST", f"{_T}/logged-models/{{model_id}}/params", lm.log_params, lm_w.LogLoggedModelParams, W),
        Route("PATCH", f"{_T}/logged-models/{{model_id}}/tags", lm.set_tags, lm_w.SetLoggedModelTags, W),
        Route("DELETE", f"{_T}/logged-models/{{model_id}}/tags/{{tag_key:path}}", lm.delete_tag, None, W),
        # -- registry: registered models, versions, aliases ------------------------------
        Route("POST", f"{_RM}/create", rm.create, rg_w.CreateRegisteredModel, W),
        Route("GET", f"{_RM}/get", rm.get, rg_w.GetRegisteredModel, R),
        Route("POST", f"{_RM}/rename", rm.rename, rg_w.RenameRegisteredModel, W),
        Route("PATCH", f"{_RM}/update", rm.update, rg_w.UpdateRegisteredModel, W),
        Route("DELETE", f"{_RM}/delete", rm.delete, rg_w.DeleteRegisteredModel, W),
        Route("GET", f"{_RM}/search", rm.search, rg_w.SearchRegisteredModels, R),
        Route("POST", f"{_RM}/get-latest-versions", rm.latest_versions, rg_w.GetLatestVersions, R),
        Route("GET", f"{_RM}/get-latest-versions", rm.latest_versions, rg_w.GetLatestVersions, R),
        Route("POST", f"{_RM}/set-tag", rm.set_tag, rg_w.SetRegisteredModelTag, W),
        Route("DELETE", f"{_RM}/delete-tag", rm.delete_tag, rg_w.DeleteRegisteredModelTag, W),
        Route("POST", f"{_RM}/alias", rm.set_alias, rg_w.SetRegisteredModelAlias, W),
        Route("DELETE", f"{_RM}/alias", rm.delete_alias, rg_w.DeleteRegisteredModelAlias, W),
        Route("GET", f"{_RM}/alias", rm.get_by_alias, rg_w.GetModelVersionByAlias, R),
        Route("POST", f"{_MV}/create", mv.create, rg_w.CreateModelVersion, W),
        Route("GET", f"{_MV}/get", mv.get, rg_w.ModelVersionRef, R),
        Route("PATCH", f"{_MV}/update", mv.update, rg_w.UpdateModelVersion, W),
        Route("POST", f"{_MV}/transition-stage", mv.transition_stage, rg_w.TransitionModelVersionStage, W),
        Route("DELETE", f"{_MV}/delete", mv.delete, rg_w.ModelVersionRef, W),
        Route("GET", f"{_MV}/get-download-uri", mv.download_uri, rg_w.ModelVersionRef, R),
        Route("GET", f"{_MV}/search", mv.search, rg_w.SearchModelVersions, R),
        Route("POST", f"{_MV}/set-tag", mv.set_tag, rg_w.SetModelVersionTag, W),
        Route("DELETE", f"{_MV}/delete-tag", mv.delete_tag, rg_w.DeleteModelVersionTag, W),
        # -- artifacts (proxied) ---------------------------------------------------------
        Route("GET", f"{_T}/artifacts/list", artifacts.list_run, art_w.ListArtifacts, R),
        Route("GET", f"{_MA}/artifacts", artifacts.list_, art_w.ListArtifactsMlflowArtifacts, R),
        Route("GET", f"{_MA}/artifacts/{{path:path}}", artifacts.download, None, R, raw=True),
        Route("GET", f"{_MA}/presigned/{{path:path}}", presigned.download_url, None, R),
        Route("PUT", f"{_MA}/artifacts/{{path:path}}", artifacts.upload, None, W, raw=True),
        Route("DELETE", f"{_MA}/artifacts/{{path:path}}", artifacts.delete, None, W),
        Route(
            "POST", f"{_MA}/mpu/create/{{path:path}}", artifacts.mpu_create, art_w.CreateMultipartUpload, W
        ),
        Route(
            "POST",
            f"{_MA}/mpu/complete/{{path:path}}",
            artifacts.mpu_complete,
            art_w.CompleteMultipartUpload,
            W,
        ),
        Route("POST", f"{_MA}/mpu/abort/{{path:path}}", artifacts.mpu_abort, art_w.AbortMultipartUpload, W),
        # Part uploads carry no credentials (the client PUTs to a "presigned" URL): the
        # unguessable upload id from mpu/create is what authorises them.
        Route("PUT", f"{_MA}/mpu/upload/{{path:path}}", artifacts.mpu_upload, None, P, raw=True),
        # -- access control (runyard) ----------------------------------------------------
        # The token endpoints are public (rate limited); approving a device sign-in needs
        # any signed-in user. Members, service principals and the audit log belong to the
        # workspace of the call (/w/<workspace>/ prefix or X-MLFLOW-WORKSPACE header).
        Route(
            "POST",
            f"{_RY}/oauth/token",
            oauth.token,
            None,
            P,
            raw=True,
            summary="Exchange a grant for a token",
        ),
        Route("POST", f"{_RY}/oauth/device/code", oauth.device_code, acc_w.DeviceCodeRequest, P),
        Route("POST", f"{_RY}/oauth/device/approve", oauth.approve, acc_w.DeviceDecision, U),
        Route("POST", f"{_RY}/oauth/device/deny", oauth.deny, acc_w.DeviceDecision, U),
        Route("GET", f"{_RY}/me", acc.me, None, U),
        Route("POST", f"{_RY}/users", acc.create_user, acc_w.CreateUser, A),
        Route("GET", f"{_RY}/users", acc.list_users, None, A),
        Route("PATCH", f"{_RY}/users", acc.update_user, acc_w.UpdateUser, A, summary="Promote or demote"),
        Route("DELETE", f"{_RY}/users", acc.delete_user, acc_w.DeleteUser, A),
        Route("POST", f"{_RY}/members", acc.grant, acc_w.GrantRole, M),
        Route("DELETE", f"{_RY}/members", acc.revoke, acc_w.RevokeRole, M),
        Route("GET", f"{_RY}/members", acc.list_members, None, M),
        Route("POST", f"{_RY}/service-principals", acc.create_sp, acc_w.CreateServicePrincipal, M),
        Route("GET", f"{_RY}/service-principals", acc.list_sps, None, M),
        Route("DELETE", f"{_RY}/service-principals", acc.delete_sp, acc_w.DeleteServicePrincipal, M),
        Route("POST", f"{_RY}/tokens", acc.create_token, acc_w.CreateToken, U),
        Route("GET", f"{_RY}/tokens", acc.list_tokens, acc_w.ListTokens, U),
        Route("POST", f"{_RY}/tokens/revoke", acc.revoke_token, acc_w.RevokeToken, U),
        Route("GET", f"{_RY}/audit", acc.audit, acc_w.ListAudit, M),
        # -- batch jobs (runyard): Spark scoring of a registered model, run by the server --
        Route("POST", f"{_RY}/batch-jobs", bj.create, bj_w.CreateBatchJob, W, summary="Submit a batch job"),
        Route("GET", f"{_RY}/batch-jobs", bj.list_, bj_w.ListBatchJobs, R, summary="List batch jobs"),
        Route("GET", f"{_RY}/batch-jobs/{{job_id}}", bj.get, None, R, summary="Get a batch job"),
        Route("POST", f"{_RY}/batch-jobs/{{job_id}}/cancel", bj.cancel, None, W, summary="Cancel a job"),
        # -- online endpoints (runyard) --------------------------------------------------
        # Owners manage endpoints, their traffic and keys; contributors deploy model versions
        # (a new deployment takes no traffic unless it is the endpoint's first); readers look.
        Route("POST", f"{_RY}/endpoints", ep.create, ep_w.CreateEndpoint, M),
        Route("GET", f"{_RY}/endpoints", ep.list_, None, R),
        Route("GET", f"{_EP}", ep.get, None, R),
        Route("PATCH", f"{_EP}", ep.update, ep_w.UpdateEndpoint, M),
        Route("DELETE", f"{_EP}", ep.delete, None, M),
        Route("POST", f"{_EP}/traffic", ep.set_traffic, ep_w.SetTraffic, M),
        Route("GET", f"{_EP}/keys", ep.get_keys, None, M),
        Route("POST", f"{_EP}/keys/regenerate", ep.regenerate_key, ep_w.RegenerateKey, M),
        Route("GET", f"{_EP}/metrics", ep.metrics, None, R),
        Route("POST", f"{_EP}/deployments", ep.create_deployment, ep_w.CreateDeployment, W),
        Route("GET", f"{_EP}/deployments", ep.list_deployments, None, R),
        Route("GET", f"{_DP}", ep.get_deployment, ep_w.WaitFor, R),
        Route("PATCH", f"{_DP}", ep.update_deployment, ep_w.UpdateDeployment, W),
        Route("DELETE", f"{_DP}", ep.delete_deployment, None, W),
        Route("GET", f"{_DP}/logs", ep.logs, ep_w.GetLogs, R),
    ]


__all__ = ["routes"]
