"""Runs: create, read, rename/finish, delete/restore, search and metric history.

Writing to runs (metrics, params, tags, inputs) lives in ``services/run_logging.py`` and is
reached as ``RunService.log``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence

from runyard.entities import Run, RunInfo, Workspace
from runyard.errors import InvalidParameter, NotFound
from runyard.search import (
    SearchEntity,
    SearchSyntaxError,
    parse_order_by,
    parse_run_filter,
    query_fingerprint,
)
from runyard.services import validation as v
from runyard.services.clock import now_ms
from runyard.services.history_stream import HistoryStream, decode_position, encode_position
from runyard.services.paging import Page, lifecycle_stages, offset_page, view_type
from runyard.services.run_logging import (
    RUN_NAME_TAG,
    USER_TAG,
    KeyValueIn,
    RunLogger,
    check_active,
    check_int64,
    clip,
    invalid,
    missing,
    require_run_id,
    run_not_found,
)
from runyard.store.sql import metrics as metrics_sql
from runyard.store.sql import runs as sql
from runyard.store.sql.engine import Database

STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")  # proto numbers 1..5
MAX_RUNS_PER_INTERVAL_REQUEST = 100
MAX_POINTS_PER_RUN = 2500
MAX_HISTORY_BULK = 25000

# Random run names in MLflow's shape (adjective-noun-number), from our own short word lists
# so that every name fits MLflow's 20-character limit.
_ADJECTIVES = (
    "amber",
    "bold",
    "brave",
    "bright",
    "calm",
    "clever",
    "crisp",
    "daring",
    "eager",
    "fancy",
    "gentle",
    "glad",
    "golden",
    "grand",
    "happy",
    "honest",
    "jolly",
    "keen",
    "kind",
    "lively",
    "lucky",
    "merry",
    "mighty",
    "nimble",
    "noble",
    "polite",
    "proud",
    "quick",
    "quiet",
    "rapid",
    "royal",
    "shiny",
    "silent",
    "sleek",
    "smart",
    "snowy",
    "spry",
    "steady",
    "sunny",
    "swift",
    "tidy",
    "vivid",
    "warm",
    "wise",
    "witty",
    "zesty",
)
_NOUNS = (
    "badger",
    "bear",
    "bison",
    "crane",
    "deer",
    "dove",
    "eagle",
    "falcon",
    "ferret",
    "finch",
    "fox",
    "gecko",
    "goose",
    "hare",
    "hawk",
    "heron",
    "ibis",
    "koala",
    "lark",
    "lemur",
    "lion",
    "lynx",
    "mole",
    "moose",
    "newt",
    "otter",
    "owl",
    "panda",
    "quail",
    "raven",
    "robin",
    "seal",
    "shrew",
    "sloth",
    "snail",
    "stork",
    "swan",
    "tapir",
    "tiger",
    "toad",
    "trout",
    "viper",
    "vole",
    "whale",
    "wolf",
    "wren",
    "yak",
    "zebra",
)


def random_run_name() -> str:
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(0, 999)}"


def run_status(value: str | int) -> str:
    """MLflow's RunStatus, sent as a name (JSON) or its proto number (query strings)."""
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        n = int(value)
        if 1 <= n <= len(STATUSES):
            return STATUSES[n - 1]
    elif value.upper() in STATUSES:
        return value.upper()
    raise InvalidParameter(f"Invalid run status '{value}'. Allowed values: {', '.join(STATUSES)}.")


def _search_error(exc: SearchSyntaxError) -> InvalidParameter:
    return InvalidParameter(exc.message)


class RunService:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.log = RunLogger(db)

    # -- lifecycle -------------------------------------------------------------------------
    def create(
        self,
        ws: Workspace,
        experiment_id: str | int | None,
        user_id: str | None,
        run_name: str | None,
        start_time: int | None,
        tags: Sequence[KeyValueIn],
        caller: str | None = None,
    ) -> Run:
        eid = v.experiment_id(experiment_id)
        if start_time is not None:
            check_int64(start_time, "start_time", "Timestamps are 64-bit integers (milliseconds).")
        tag_map: dict[str, str | None] = {}
        for t in tags:
            # MLflow checks only lengths here (the store's column limits), not key syntax.
            if not t.key:
                raise missing("tags.key")
            if len(t.key) > v.MAX_KEY:
                raise InvalidParameter(f"'key' exceeds the maximum length of {v.MAX_KEY} characters")
            tag_map[t.key] = clip(t.value, v.MAX_TAG_VALUE, "value")
        name_tag = tag_map.get(RUN_NAME_TAG)
        if run_name and name_tag and run_name != name_tag:
            raise InvalidParameter(
                "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with "
                f"different values (run_name='{run_name}', mlflow.runName='{name_tag}')."
            )
        name = run_name or name_tag or random_run_name()
        tag_map[RUN_NAME_TAG] = name
        run_id = uuid.uuid4().hex
        info = RunInfo(
            run_id=run_id,
            experiment_id=eid,
            run_name=name,
            user_id=user_id or tag_map.get(USER_TAG) or caller,
            status="RUNNING",
            start_time=start_time if start_time is not None else now_ms(),
            end_time=None,
            artifact_uri=None,
            lifecycle_stage="active",
        )

        # The run goes in only if its experiment is active; the experiment comes back either way.
        exp = self._db.write_statement(lambda conn: sql.create_run(conn, ws.id, info, tag_map))
        if exp is None:
            raise NotFound(f"No Experiment with id={eid} exists")
        if exp[1] != "active":
            raise InvalidParameter(
                f"The experiment {eid} must be in the 'active' state. Current state is {exp[1]}."
            )
        return Run(info, tags=tag_map)

    def get(self, ws: Workspace, run_id: str | None) -> Run:
        rid = require_run_id(run_id)
        with self._db.read() as conn:
            run = sql.get(conn, ws.id, rid)
        if run is None:
            raise run_not_found(rid)
        return run

    def update(
        self,
        ws: Workspace,
        run_id: str | None,
        status: str | int | None,
        end_time: int | None,
        run_name: str | None,
    ) -> RunInfo:
        rid = require_run_id(run_id)
        values: dict[str, object] = {}
        if status is not None and status != "":
            values["status"] = run_status(status)
        if end_time is not None:
            values["end_time"] = check_int64(
                end_time, "end_time", "Timestamps are 64-bit integers (milliseconds)."
            )
        if run_name:
            values["name"] = run_name

        def tx(conn) -> RunInfo:  # noqa: ANN001
            check_active(sql.state(conn, ws.id, rid), rid)
            if values:
                sql.update_run(conn, ws.id, rid, **values)
            if run_name:
                sql.set_tags(conn, ws.id, rid, {RUN_NAME_TAG: run_name})
            info = sql.get_info(conn, ws.id, rid)
            assert info is not None
            return info

        return self._db.write(tx)

    def delete(self, ws: Workspace, run_id: str | None) -> None:
        self._set_lifecycle(ws, require_run_id(run_id), "deleted")

    def restore(self, ws: Workspace, run_id: str | None) -> None:
        self._set_lifecycle(ws, require_run_id(run_id), "active")

    def _set_lifecycle(self, ws: Workspace, run_id: str, stage: str) -> None:
        deleted_time = now_ms() if stage == "deleted" else None

        def tx(conn) -> None:  # noqa: ANN001
            if sql.state(conn, ws.id, run_id) is None:
                raise run_not_found(run_id)
            sql.update_run(conn, ws.id, run_id, lifecycle_stage=stage, deleted_time=deleted_time)

        self._db.write(tx)

    # -- search ----------------------------------------------------------------------------
    def search(
        self,
        ws: Workspace,
        experiment_ids: Sequence[str | int],
        filter_string: str | None,
        view: str | int | None,
        max_results: int | None,
        order_by: Sequence[str],
        page_token: str | None,
    ) -> Page[Run]:
        limit = v.max_results(max_results, 1000, v.MAX_RESULTS_SEARCH_RUNS)
        stages = lifecycle_stages(view_type(view))
        eids = []
        for e in experiment_ids:
            try:
                eids.append(int(e))
            except (TypeError, ValueError):
                raise InvalidParameter(
                    f"Invalid experiment ID '{e}'. Experiment ID must be a valid integer."
                ) from None
        try:
            clauses = parse_run_filter(filter_string)
            orders = parse_order_by(SearchEntity.RUNS, order_by)
            fingerprint = query_fingerprint(
                "runs", ws.id, sorted(set(eids)), filter_string or "", list(order_by), stages
            )
        except SearchSyntaxError as exc:
            raise _search_error(exc) from None

        def fetch(offset: int, n: int) -> list[Run]:
            with self._db.read() as conn:
                return sql.search_page(conn, ws.id, eids, stages, clauses, orders, offset, n)

        try:
            return offset_page(page_token, fingerprint, limit, fetch)
        except SearchSyntaxError as exc:
            raise _search_error(exc) from None

    # -- metric history --------------------------------------------------------------------
    def metric_history(
        self,
        ws: Workspace,
        run_id: str | None,
        key: str | None,
        max_results: int | None,
        page_token: str | None,
    ) -> tuple[str, Page[metrics_sql.StoredPoint]]:
        """(key, a page of its stored points) in (timestamp, step, value) order; all of them
        without max_results. Points stay as stored (NaN as is_nan): a history
        is built point by point, so the API converts them once, straight into its messages."""
        rid, key, max_results, after, fingerprint = self._history_query(
            ws, run_id, key, max_results, page_token
        )
        with self._db.read() as conn:
            if not sql.exists(conn, ws.id, rid):
                raise run_not_found(rid)
            points = metrics_sql.history(
                conn, ws.id, rid, key, after, None if max_results is None else max_results + 1
            )
        token = None
        if max_results is not None and len(points) > max_results:
            points = points[:max_results]
            token = encode_position(metrics_sql.position(points[-1]), fingerprint)
        return key, Page(points, token)

    def metric_history_stream(
        self,
        ws: Workspace,
        run_id: str | None,
        key: str | None,
        max_results: int | None,
        page_token: str | None,
    ) -> HistoryStream:
        """The page :meth:`metric_history` would return, read in chunks: memory stays flat."""
        rid, key, max_results, after, fingerprint = self._history_query(
            ws, run_id, key, max_results, page_token
        )
        with self._db.read() as conn:  # errors surface now, before anything is streamed
            if not sql.exists(conn, ws.id, rid):
                raise run_not_found(rid)
        return HistoryStream(self._db, ws.id, rid, key, after, max_results, fingerprint)

    def _history_query(
        self,
        ws: Workspace,
        run_id: str | None,
        key: str | None,
        max_results: int | None,
        page_token: str | None,
    ) -> tuple[str, str, int | None, metrics_sql.Position | None, str]:
        """(run_id, key, max_results, page start, fingerprint) of a valid get-history request."""
        rid = require_run_id(run_id)
        if not key:
            raise missing("metric_key")
        if max_results is not None and max_results <= 0:
            raise InvalidParameter(
                f"Invalid value {max_results} for parameter 'max_results' supplied. "
                "It must be a positive integer."
            )
        if max_results is not None:
            max_results = min(max_results, 2**62)  # more than any history holds; keeps LIMIT in int64
        fingerprint = query_fingerprint("metric-history", ws.id, rid, key)
        try:
            after = decode_position(page_token, fingerprint)
        except SearchSyntaxError as exc:
            raise _search_error(exc) from None
        return rid, key, max_results, after, fingerprint

    def metric_history_sampled(
        self,
        ws: Workspace,
        run_ids: Sequence[str],
        key: str | None,
        start_step: int | None,
        end_step: int | None,
        max_results: int | None,
    ) -> list[tuple[str, str, float, int, int]]:
        """GetMetricHistoryBulkInterval: (run_id, key, value, timestamp, step), sampled per run."""
        if len(run_ids) > MAX_RUNS_PER_INTERVAL_REQUEST:
            raise InvalidParameter(
                f"GetMetricHistoryBulkInterval request must specify at most {MAX_RUNS_PER_INTERVAL_REQUEST} "
                f"run_ids. Received {len(run_ids)} run_ids."
            )
        if not key:
            raise missing("metric_key")
        per_run = MAX_POINTS_PER_RUN if max_results is None else max_results
        if not 1 <= per_run <= MAX_POINTS_PER_RUN:
            raise InvalidParameter(f"max_results must be between 1 and {MAX_POINTS_PER_RUN}.")
        steps = None
        for name, step in (("start_step", start_step), ("end_step", end_step)):
            if step is not None:
                check_int64(step, name, "Steps are 64-bit integers.")
        if start_step is not None and end_step is not None:
            if start_step > end_step:
                raise InvalidParameter(
                    "end_step must be greater than start_step. "
                    f"Found start_step={start_step} and end_step={end_step}."
                )
            steps = (start_step, end_step)
        elif start_step is not None or end_step is not None:
            raise InvalidParameter("If either start step or end step are specified, both must be specified.")
        ids = list(dict.fromkeys(run_ids))
        if not ids:
            return []
        with self._db.read() as conn:
            known = sql.existing_ids(conn, ws.id, ids)
            for rid in ids:
                if rid not in known:
                    raise run_not_found(rid)
            sampled = metrics_sql.sample_history(conn, ws.id, ids, key, per_run, steps)
        return [
            (rid, key, float("nan") if is_nan else value, ts, step)
            for rid in ids
            for value, ts, step, is_nan in sampled.get(rid, ())
        ]

    def metric_history_bulk(
        self, ws: Workspace, run_ids: Sequence[str], key: str | None, max_results: int | None
    ) -> list[tuple[str, str, float, int, int]]:
        """The UI's get-history-bulk: whole histories of up to 100 runs, by run id."""
        if not run_ids:
            raise InvalidParameter("GetMetricHistoryBulk request must specify at least one run_id.")
        if len(run_ids) > MAX_RUNS_PER_INTERVAL_REQUEST:
            raise InvalidParameter(
                f"GetMetricHistoryBulk request cannot specify more than {MAX_RUNS_PER_INTERVAL_REQUEST} "
                f"run_ids. Received {len(run_ids)} run_ids."
            )
        if not key:
            raise InvalidParameter("GetMetricHistoryBulk request must specify a metric_key.")
        limit = min(max_results or MAX_HISTORY_BULK, MAX_HISTORY_BULK)
        if limit <= 0:
            raise invalid("max_results", max_results, "It must be a positive integer.")
        with self._db.read() as conn:
            return metrics_sql.history_bulk(conn, ws.id, sorted(set(run_ids)), key, limit)


__all__ = ["RunService", "random_run_name", "run_status"]
