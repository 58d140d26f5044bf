"""Batch jobs of a workspace: submit (with every check that can be made before Spark starts),
get, list, cancel, and the state changes the job runner (runyard/batch/jobs.py) makes.

The model URI is resolved to a registered model version at submit time and recorded: a job
scores exactly the version that ``models:/name@alias`` meant when it was submitted, even if the
alias moves while the job waits in the queue.
"""

from __future__ import annotations

import importlib.util
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from runyard.auth import tokens as tok
from runyard.entities import BatchJob, Principal, Workspace
from runyard.errors import InvalidParameter, InvalidState, NotFound
from runyard.search.page_token import query_fingerprint
from runyard.services import validation as v
from runyard.services.clock import now_ms
from runyard.services.paging import Page, offset_page
from runyard.services.registry import model_name, model_not_found, version_not_found
from runyard.store.sql import access as access_sql
from runyard.store.sql import batch_jobs as sql
from runyard.store.sql import registry as registry_sql
from runyard.store.sql.batch_jobs import ACTIVE, CANCELLED, FAILED, RUNNING, STATUSES
from runyard.store.sql.engine import Database

FORMATS = ("csv", "parquet")
DEFAULT_PAGE, MAX_PAGE = 100, 1000
_MAX_PATH = 4096
_MAX_MASTER = 256
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,249}$")
_MODEL_FORMS = "models:/<name>/<version>, models:/<name>@<alias> or models:/<name>/latest"


def _local(uri: str) -> Path | None:
    """The local path a Spark path names, or None for a cluster/object-store URI (hdfs://, s3a://...)."""
    try:
        parsed = urlparse(uri)
    except ValueError:  # e.g. an unclosed [ in the host part
        raise InvalidParameter(f"Invalid path '{uri[:200]}': not a file path nor a URI.") from None
    if parsed.scheme == "file":
        return Path(parsed.path)
    return Path(uri) if parsed.scheme == "" else None


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long for the file system, a permission error...
        raise InvalidParameter(f"Invalid path '{str(path)[:200]}': the server cannot look at it.") from None


def _detect_format(path: Path) -> str | None:
    names = [path.name]
    if path.is_dir():
        names = [p.name for p in path.iterdir() if p.is_file() and not p.name.startswith(("_", "."))]
    found = {fmt for name in names for fmt in FORMATS if name.lower().endswith(f".{fmt}")}
    return found.pop() if len(found) == 1 else None


def _format(value: str | None, what: str) -> str | None:
    if value is None or value == "":
        return None
    if value.lower() not in FORMATS:
        raise InvalidParameter(f"Invalid {what} '{value}'. Allowed values: csv, parquet.")
    return value.lower()


def _not_active(job: BatchJob) -> InvalidState:
    return InvalidState(
        f"Batch job '{job.id}' is already {job.status}; only queued or running jobs can be cancelled."
    )


class BatchJobService:
    def __init__(self, db: Database, roots: str, auth_on: bool, token_ttl_s: int) -> None:
        self._db = db
        # Folders API jobs may read and write on this machine. Empty: anywhere when authentication
        # is off (every caller may do anything anyway), nowhere when it is on — a contributor must
        # not make the server read /etc or overwrite its own files.
        self.roots = [os.path.realpath(os.path.expanduser(r)) for r in roots.split(",") if r.strip()]
        self.auth_on = auth_on
        self.token_ttl_s = max(60, token_ttl_s)
        self.on_submit: Callable[[], None] = lambda: None  # the runner's wake-up, set by app.py

    # -- submit ------------------------------------------------------------------------------
    def submit(
        self,
        ws: Workspace,
        caller: Principal,
        model_uri: str | None,
        input_path: str | None,
        output_path: str | None,
        input_format: str | None = None,
        output_format: str | None = None,
        result_column: str | None = None,
        master: str | None = None,
    ) -> BatchJob:
        v.require(model_uri, "model_uri")
        v.require(input_path, "input")
        v.require(output_path, "output")
        assert model_uri is not None and input_path is not None and output_path is not None
        if importlib.util.find_spec("pyspark") is None:
            raise InvalidState(
                "This server cannot run batch jobs: pyspark is not installed where it runs "
                "(pip install 'runyard[spark]' mlflow)."
            )
        out_fmt = _format(output_format, "output_format") or "parquet"
        in_fmt = self._check_input(input_path, _format(input_format, "input_format"))
        self._check_output(output_path, input_path)
        column = result_column or "prediction"
        if not _COLUMN.match(column):
            raise InvalidParameter(
                f"Invalid result_column '{column}': use letters, digits and underscores (at most 250)."
            )
        master = master or "local[*]"
        if len(master) > _MAX_MASTER or not master.strip() or "\x00" in master:
            raise InvalidParameter(f"Invalid master '{master[:80]}': a Spark master URL such as local[*].")
        name, version = self._resolve(ws, model_uri)
        job = BatchJob(
            id=uuid.uuid4().hex,
            workspace_id=ws.id,
            model_uri=model_uri,
            model_name=name,
            model_version=version,
            input_path=input_path,
            input_format=in_fmt,
            output_path=output_path,
            output_format=out_fmt,
            result_column=column,
            master=master,
            status="queued",
            message=None,
            row_count=None,
            tasks_total=None,
            tasks_done=None,
            created_by=caller.name,
            creation_time=now_ms(),
            start_time=None,
            end_time=None,
            runner=None,
            heartbeat_time=None,
        )
        self._db.write(lambda conn: sql.insert_job(conn, job))
        self.on_submit()
        return job

    def _resolve(self, ws: Workspace, model_uri: str) -> tuple[str, int]:
        """``models:/name/3``, ``models:/name@alias`` or ``models:/name/latest`` → (name, version)."""
        try:
            parsed = urlparse(model_uri)
        except ValueError:
            parsed = urlparse("invalid:")
        path = parsed.path.lstrip("/")
        if parsed.scheme != "models" or parsed.netloc or not path:
            raise InvalidParameter(
                f"Invalid model_uri '{model_uri}': batch jobs score a registered model of this "
                f"workspace, named {_MODEL_FORMS}."
            )
        if "/" in path:
            name, _, suffix = path.partition("/")
        elif "@" in path:
            name, _, alias = path.rpartition("@")
            suffix = "@" + alias
        else:
            raise InvalidParameter(f"Invalid model_uri '{model_uri}': name a version, use {_MODEL_FORMS}.")
        name = model_name(name, "model_uri")
        with self._db.read() as conn:
            if not registry_sql.model_exists(conn, ws.id, name):
                raise model_not_found(name)
            if suffix.startswith("@"):
                number = registry_sql.alias_version(conn, ws.id, name, suffix[1:])
                if number is None:  # MLflow's own answer to an unknown alias
                    raise InvalidParameter(f"Registered model alias {suffix[1:]} not found.")
            elif suffix.isdigit():
                number = int(suffix)
            elif suffix.lower() == "latest":
                number = registry_sql.latest_version_number(conn, ws.id, name)
            else:
                raise InvalidParameter(
                    f"Invalid model_uri '{model_uri}': '{suffix}' is not a version number; "
                    f"use {_MODEL_FORMS}."
                )
            if number is None or registry_sql.get_version(conn, ws.id, name, number) is None:
                raise version_not_found(name, suffix.lstrip("@"))
        return name, number

    def _allowed(self, path: Path, uri: str, what: str) -> None:
        if not self.roots and not self.auth_on:
            return
        real = os.path.realpath(path)
        if not any(os.path.commonpath([real, root]) == root for root in self.roots):
            where = ", ".join(self.roots) if self.roots else "none are allowed on this server"
            raise InvalidParameter(
                f"Invalid {what} '{uri}': batch jobs may only use local paths under the server's batch "
                f"roots ({where}); an admin sets them with --batch-roots / RUNYARD_BATCH_ROOTS. "
                "Cluster paths (hdfs://, s3a://, abfss://...) are not restricted."
            )

    def _check_input(self, uri: str, fmt: str | None) -> str:
        if len(uri) > _MAX_PATH or "\x00" in uri:
            raise InvalidParameter("Invalid input: not a usable path.")
        local = _local(uri)
        if local is None:
            return fmt or "parquet"
        self._allowed(local, uri, "input")
        if not _exists(local):
            raise InvalidParameter(f"Invalid input '{uri}': it does not exist on the server.")
        try:
            found = fmt or _detect_format(local)
        except OSError:  # e.g. a folder the server may not list
            found = None
        if found is None:
            raise InvalidParameter(
                f"Cannot tell the format of input '{uri}' from its file names; set input_format "
                "to csv or parquet."
            )
        return found

    def _check_output(self, uri: str, input_uri: str) -> None:
        if len(uri) > _MAX_PATH or "\x00" in uri:
            raise InvalidParameter("Invalid output: not a usable path.")
        local, local_in = _local(uri), _local(input_uri)
        if local is None:
            return
        self._allowed(local, uri, "output")
        if _exists(local):
            raise InvalidParameter(f"Invalid output '{uri}': it already exists; name a new folder.")
        if local_in is not None:
            a, b = os.path.realpath(local), os.path.realpath(local_in)
            if os.path.commonpath([a, b]) in (a, b):
                raise InvalidParameter(f"Invalid output '{uri}': it overlaps the input '{input_uri}'.")

    # -- reads and cancel ------------------------------------------------------------------
    def get(self, ws: Workspace, job_id: str | None) -> BatchJob:
        v.require(job_id, "job_id")
        assert job_id is not None
        with self._db.read() as conn:
            job = sql.get_job(conn, ws.id, job_id) if len(job_id) <= 32 else None
        if job is None:
            raise NotFound(f"No batch job with id '{job_id}' in workspace '{ws.name}'.")
        return job

    def list(
        self, ws: Workspace, status: list[str] | None, page_token: str | None, max_results: int | None
    ) -> Page[BatchJob]:
        limit = v.max_results(max_results, DEFAULT_PAGE, MAX_PAGE)
        wanted = tuple(sorted({s.lower() for s in status or [] if s}))
        bad = [s for s in wanted if s not in STATUSES]
        if bad:
            raise InvalidParameter(f"Invalid status '{bad[0]}'. Allowed values: {', '.join(STATUSES)}.")

        def fetch(offset: int, n: int) -> list[BatchJob]:
            with self._db.read() as conn:
                return sql.list_jobs(conn, ws.id, wanted or None, offset, n)

        return offset_page(page_token, query_fingerprint("batch-jobs", ws.id, wanted), limit, fetch)

    def cancel(self, ws: Workspace, caller: Principal, job_id: str | None) -> BatchJob:
        job = self.get(ws, job_id)
        if job.status not in ACTIVE:
            raise InvalidState(
                f"Batch job '{job.id}' is already {job.status}; only queued or running jobs can be cancelled."
            )
        message = f"Cancelled by {caller.name}."
        if job.status == RUNNING:
            message += f" Partial output may remain at {job.output_path}."
        done = self._db.write(lambda conn: sql.finish(conn, job.id, ACTIVE, CANCELLED, now_ms(), message))
        if not done:  # finished between the read and the update
            job = self.get(ws, job.id)
            raise InvalidState(
                f"Batch job '{job.id}' is already {job.status}; only queued or running jobs can be cancelled."
            )
        return self.get(ws, job.id)

    # -- the runner's side -------------------------------------------------------------------
    def claim_next(self, runner: str, n: int) -> list[BatchJob]:
        """Up to ``n`` queued jobs (oldest first) that this runner now owns."""
        if n <= 0:
            return []
        now = now_ms()
        with self._db.read() as conn:
            candidates = sql.oldest_queued(conn, n * 4)
        claimed = []
        for job_id in candidates:
            if len(claimed) == n:
                break
            if self._db.write(lambda conn, j=job_id: sql.claim(conn, j, runner, now)):
                with self._db.read() as conn:
                    job = sql.get_any(conn, job_id)
                if job is not None:
                    claimed.append(job)
        return claimed

    def heartbeat(self, job: BatchJob, runner: str, done: int | None, total: int | None) -> str | None:
        return self._db.write(lambda conn: sql.heartbeat(conn, job.id, runner, now_ms(), done, total))

    def finish(self, job: BatchJob, runner: str, status: str, message: str, rows: int | None = None) -> bool:
        return self._db.write(
            lambda conn: sql.finish(conn, job.id, (RUNNING,), status, now_ms(), message, rows, runner)
        )

    def running(self) -> list[BatchJob]:
        with self._db.read() as conn:
            return sql.running(conn)

    def workspace_name(self, workspace_id: int) -> str:
        with self._db.read() as conn:
            name = sql.workspace_name(conn, workspace_id)
        if name is None:
            raise NotFound("The job's workspace no longer exists.")
        return name

    def fail_orphan(self, job: BatchJob, message: str) -> bool:
        """Mark a job whose runner is gone as failed (only if that runner still holds it)."""
        return self._db.write(
            lambda conn: sql.finish(conn, job.id, (RUNNING,), FAILED, now_ms(), message, None, job.runner)
        )

    def child_credential(self, job: BatchJob) -> tuple[str, str] | None:
        """A short-lived access token of the job's creator for the scoring process: (token id, token).

        None with authentication off. Kind "batch" keeps it out of the creator's token list; the
        runner revokes it when the job ends.
        """
        if not self.auth_on:
            return None
        minted = tok.mint("access")
        now = now_ms()

        def tx(conn) -> bool:  # noqa: ANN001 - a Connection
            owner = access_sql.principal_by_name(conn, job.created_by)
            if owner is None:
                return False
            name = f"batch job {job.id}"
            expires = now + self.token_ttl_s * 1000
            access_sql.insert_token(
                conn, minted.id, owner.id, "batch", name, minted.secret_hash, now, expires
            )
            return True

        if not self._db.write(tx):
            raise NotFound(f"The principal '{job.created_by}' who submitted the job no longer exists.")
        return minted.id, minted.token

    def revoke_credential(self, token_id: str) -> None:
        self._db.write(lambda conn: access_sql.revoke_token(conn, token_id, now_ms()))


__all__ = ["FORMATS", "BatchJobService"]
