"""Handlers for /api/2.0/runyard/batch-jobs: submit, get, list and cancel Spark scoring jobs."""

from __future__ import annotations

from runyard.api.call import Call
from runyard.api.wire import batch_jobs as w
from runyard.entities import ANONYMOUS, BatchJob


def to_wire(job: BatchJob, workspace: str) -> w.BatchJob:
    return w.BatchJob(
        job_id=job.id,
        workspace=workspace,
        status=job.status,
        model_uri=job.model_uri,
        model_name=job.model_name,
        model_version=str(job.model_version),
        input=job.input_path,
        input_format=job.input_format,
        output=job.output_path,
        output_format=job.output_format,
        result_column=job.result_column,
        master=job.master,
        created_by=job.created_by,
        creation_time=job.creation_time,
        message=job.message,
        row_count=job.row_count,
        tasks_done=job.tasks_done,
        tasks_total=job.tasks_total,
        start_time=job.start_time,
        end_time=job.end_time,
    )


def create(call: Call, req: w.CreateBatchJob) -> w.BatchJobResponse:
    job = call.services.batch_jobs.submit(
        call.workspace,
        call.principal or ANONYMOUS,
        req.model_uri,
        req.input,
        req.output,
        input_format=req.input_format,
        output_format=req.output_format,
        result_column=req.result_column,
        master=req.master,
    )
    return w.BatchJobResponse(job=to_wire(job, call.workspace.name))


def get(call: Call, _req: None) -> w.BatchJobResponse:
    job = call.services.batch_jobs.get(call.workspace, call.path_param("job_id"))
    return w.BatchJobResponse(job=to_wire(job, call.workspace.name))


def list_(call: Call, req: w.ListBatchJobs) -> w.ListBatchJobsResponse:
    page = call.services.batch_jobs.list(call.workspace, req.status, req.page_token, req.max_results)
    return w.ListBatchJobsResponse(
        jobs=[to_wire(job, call.workspace.name) for job in page.items], next_page_token=page.next_page_token
    )


def cancel(call: Call, _req: None) -> w.BatchJobResponse:
    job = call.services.batch_jobs.cancel(
        call.workspace, call.principal or ANONYMOUS, call.path_param("job_id")
    )
    return w.BatchJobResponse(job=to_wire(job, call.workspace.name))
