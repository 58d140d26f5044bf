"""Search filters compiled to SQL, executed on SQLite and PostgreSQL against a tiny dataset.

Each test reads as: given these rows, this filter / order_by returns these ids in this order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, create_engine, insert, literal, select

from runyard.search import (
    parse_experiment_filter,
    parse_logged_model_filter,
    parse_logged_model_order_by,
    parse_model_version_filter,
    parse_order_by,
    parse_registered_model_filter,
    parse_run_filter,
)
from runyard.search.ast import Op
from runyard.search.like import like_matches
from runyard.store.sql import schema as s
from runyard.store.sql.engine import normalize_url
from runyard.store.sql.search import (
    compare,
    select_experiment_ids,
    select_logged_model_ids,
    select_model_version_keys,
    select_registered_model_names,
    select_run_ids,
)
from tests.support.pg import postgres_database

WS, OTHER_WS = 1, 2
NAN = float("nan")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = create_engine("sqlite://")
        yield from _loaded(eng)
        return
    with postgres_database("runyard_search") as url:
        yield from _loaded(create_engine(normalize_url(url)))


def _loaded(eng: Engine) -> Iterator[Engine]:
    s.metadata.create_all(eng)
    with eng.begin() as conn:
        _seed(conn)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as c:
        yield c


def _rows(conn: Connection, table: Any, columns: str, *rows: tuple[Any, ...], **common: Any) -> None:
    names = columns.split()
    conn.execute(insert(table), [{**common, **dict(zip(names, row, strict=True))} for row in rows])


def _seed(conn: Connection) -> None:
    _rows(
        conn,
        s.workspaces,
        "id name",
        (WS, "default"),
        (OTHER_WS, "other"),
        creation_time=0,
        last_update_time=0,
    )
    _rows(
        conn,
        s.experiments,
        "workspace_id experiment_id name creation_time lifecycle_stage",
        (WS, 0, "Default", 10, "active"),
        (WS, 1, "fraud-model", 300, "active"),
        (WS, 2, "Fraud-legacy", 200, "active"),
        (WS, 3, "churn", None, "active"),
        (WS, 4, "old", 100, "deleted"),
        (OTHER_WS, 0, "Default", 10, "active"),
        (OTHER_WS, 5, "fraud-other", 999, "active"),
    )
    _rows(
        conn,
        s.experiment_tags,
        "workspace_id experiment_id key value",
        (WS, 1, "team", "risk"),
        (WS, 2, "team", "Risk"),
        (OTHER_WS, 0, "team", "risk"),
    )
    # Runs in experiment 1: r1..r5 (r5 deleted); r6 lives in another experiment, r7 in another workspace.
    _rows(
        conn,
        s.runs,
        "run_uuid workspace_id experiment_id name status start_time end_time lifecycle_stage",
        ("r1", WS, 1, "cnn-small", "FINISHED", 100, 160, "active"),
        ("r2", WS, 1, "CNN-large", "FINISHED", 300, 310, "active"),
        ("r3", WS, 1, "rnn", "FAILED", 200, None, "active"),
        ("r4", WS, 1, "baseline", "RUNNING", 300, None, "active"),
        ("r5", WS, 1, "deleted", "FINISHED", 400, 450, "deleted"),
        ("r6", WS, 2, "elsewhere", "FINISHED", 500, 550, "active"),
        ("r7", OTHER_WS, 1, "foreign", "FINISHED", 600, 650, "active"),
    )
    _rows(
        conn,
        s.latest_metrics,
        "run_uuid key value is_nan",
        ("r1", "rmse", 0.5, False),
        ("r2", "rmse", 0.9, False),
        ("r3", "rmse", 0.0, True),
        ("r1", "val/loss", 1.0, False),
        ("r7", "rmse", 0.1, False),
        workspace_id=WS,
        timestamp=0,
        step=0,
    )
    _rows(
        conn,
        s.metrics,
        "run_uuid key value is_nan",
        ("r4", "rmse", 0.01, False),  # history only: searches must not see it
        workspace_id=WS,
        timestamp=0,
        step=0,
    )
    _rows(
        conn,
        s.params,
        "run_uuid key value",
        ("r1", "lr", "0.1"),
        ("r2", "lr", "0.01"),
        ("r1", "model", "CNN"),
        ("r2", "model", "cnn"),
        ("r3", "model", "a*b"),
        ("r4", "model", "50%"),
        workspace_id=WS,
    )
    _rows(
        conn,
        s.tags,
        "run_uuid key value",
        ("r1", "team", "Vision"),
        ("r2", "team", "vision"),
        ("r3", "team", "nlp"),
        ("r1", "my key", "x"),
        workspace_id=WS,
    )
    _rows(
        conn,
        s.datasets,
        "dataset_uuid name digest",
        ("d1", "train-set", "abc"),
        ("d2", "eval-set", "def"),
        workspace_id=WS,
        experiment_id=1,
        dataset_source_type="local",
        dataset_source="/data",
    )
    _rows(
        conn,
        s.inputs,
        "input_uuid source_id destination_id",
        ("i1", "d1", "r1"),
        ("i2", "d2", "r1"),
        ("i3", "d1", "r2"),
        workspace_id=WS,
        source_type="DATASET",
        destination_type="RUN",
    )
    _rows(
        conn,
        s.input_tags,
        "input_uuid name value",
        ("i1", "mlflow.data.context", "training"),
        ("i2", "mlflow.data.context", "eval"),
        ("i3", "mlflow.data.context", "eval"),
        workspace_id=WS,
    )
    _seed_registry(conn)
    _seed_logged_models(conn)


def _seed_registry(conn: Connection) -> None:
    _rows(
        conn,
        s.registered_models,
        "workspace_id name creation_time last_updated_time",
        (WS, "fraud", 1, 30),
        (WS, "Fraud-v2", 2, 10),
        (WS, "churn", 3, 20),
        (WS, "my-prompt", 4, 40),
        (OTHER_WS, "fraud", 1, 50),
    )
    _rows(
        conn,
        s.registered_model_tags,
        "workspace_id name key value",
        (WS, "fraud", "stage", "prod"),
        (WS, "churn", "stage", "dev"),
        (WS, "my-prompt", "mlflow.prompt.is_prompt", "true"),
    )
    _rows(
        conn,
        s.model_versions,
        "workspace_id name version last_updated_time run_id source deleted",
        (WS, "fraud", 1, 100, "r1", "s3://b/fraud/1", False),
        (WS, "fraud", 2, 300, "r2", "s3://b/fraud/2", False),
        (WS, "fraud", 3, 300, "r3", "file:///fraud/3", True),
        (WS, "churn", 1, 300, "r4", "s3://b/churn/1", False),
        (WS, "my-prompt", 1, 500, None, None, False),
        (OTHER_WS, "fraud", 1, 999, "r7", "s3://x", False),
    )
    _rows(
        conn,
        s.model_version_tags,
        "workspace_id name version key value",
        (WS, "fraud", 2, "validated", "yes"),
        (WS, "my-prompt", 1, "mlflow.prompt.is_prompt", "true"),
    )


def _seed_logged_models(conn: Connection) -> None:
    _rows(
        conn,
        s.logged_models,
        "model_id workspace_id experiment_id name creation_timestamp_ms status lifecycle_stage",
        ("m-1", WS, 1, "clf", 100, 2, "active"),
        ("m-2", WS, 1, "clf", 300, 1, "active"),
        ("m-3", WS, 1, "reg", 200, 3, "active"),
        ("m-4", WS, 1, "gone", 400, 2, "deleted"),
        ("m-5", OTHER_WS, 1, "clf", 500, 2, "active"),
        artifact_location="/a",
        last_updated_timestamp_ms=0,
    )
    _rows(
        conn,
        s.logged_model_params,
        "model_id key value",
        ("m-1", "lr", "0.01"),
        ("m-2", "lr", "0.1"),
        workspace_id=WS,
    )
    _rows(
        conn,
        s.logged_model_metrics,
        "model_id metric_name metric_value metric_timestamp_ms dataset_name",
        ("m-1", "acc", 0.70, 1, "eval"),
        ("m-1", "acc", 0.95, 2, "train"),
        ("m-2", "acc", 0.80, 1, "eval"),
        ("m-3", "acc", 0.60, 1, None),
        workspace_id=WS,
        metric_step=0,
        run_id="r1",
    )


def run_ids(
    conn: Connection,
    filter: str | None = None,
    order_by: list[str] | None = None,
    view: int | str = "ACTIVE_ONLY",
    experiments: tuple[str, ...] = ("1",),
) -> list[str]:
    stmt = select_run_ids(WS, experiments, view, parse_run_filter(filter), parse_order_by("runs", order_by))
    return list(conn.execute(stmt).scalars())


def matching(conn: Connection, filter: str) -> set[str]:
    return set(run_ids(conn, filter))


# -- runs: filters -------------------------------------------------------------------------


def test_default_order_is_newest_first_then_run_id(conn: Connection) -> None:
    assert run_ids(conn) == ["r2", "r4", "r3", "r1"]


@pytest.mark.parametrize(
    ("view", "expected"),
    [("DELETED_ONLY", ["r5"]), ("ALL", ["r5", "r2", "r4", "r3", "r1"]), (1, ["r2", "r4", "r3", "r1"])],
)
def test_view_types(conn: Connection, view: int | str, expected: list[str]) -> None:
    assert run_ids(conn, view=view) == expected


def test_scoped_to_workspace_and_experiments(conn: Connection) -> None:
    assert "r7" not in run_ids(conn, experiments=("1", "2"))  # same experiment id, other workspace
    assert set(run_ids(conn, experiments=("1", "2"))) == {"r1", "r2", "r3", "r4", "r6"}


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ("metrics.rmse = 0.5", {"r1"}),
        ("metrics.rmse != 0.5", {"r2", "r3"}),  # NaN is unequal to everything; r4 has no rmse
        ("metrics.rmse < 0.9", {"r1"}),  # NaN compares false, the history-only 0.01 is invisible
        ("metrics.rmse <= 0.9", {"r1", "r2"}),
        ("metrics.rmse > 0.5", {"r2"}),
        ("metrics.rmse >= 0", {"r1", "r2"}),
        ("metrics.`val/loss` = 1", {"r1"}),
        ("metrics.rmse > 0.1 AND metrics.rmse < 0.6", {"r1"}),
    ],
)
def test_metric_comparators(conn: Connection, filter: str, expected: set[str]) -> None:
    assert matching(conn, filter) == expected


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ("params.lr = '0.1'", {"r1"}),
        ("params.lr != '0.1'", {"r2"}),  # runs without the param never match (as in MLflow)
        ("params.model LIKE 'CNN'", {"r1"}),  # LIKE is case-sensitive on every backend
        ("params.model LIKE 'c%'", {"r2"}),
        ("params.model ILIKE 'cnn'", {"r1", "r2"}),
        ("params.model LIKE 'a*b'", {"r3"}),  # * is literal in LIKE (GLOB translation escapes it)
        ("params.model LIKE 'a_b'", {"r3"}),
        (r"params.model LIKE '50\%'", {"r4"}),
        ("params.model LIKE '50_'", {"r4"}),
        ("params.lr IS NULL", {"r3", "r4"}),
        ("params.lr IS NOT NULL", {"r1", "r2"}),
        ("tags.team = 'vision'", {"r2"}),
        ("tags.team LIKE 'V%'", {"r1"}),
        ("tags.team ILIKE 'v%'", {"r1", "r2"}),
        ("tags.team != 'nlp'", {"r1", "r2"}),
        ("tags.`my key` IS NOT NULL", {"r1"}),
        ("tags.team IS NULL", {"r4"}),
    ],
)
def test_param_and_tag_comparators(conn: Connection, filter: str, expected: set[str]) -> None:
    assert matching(conn, filter) == expected


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ("run_id = 'r1'", {"r1"}),
        ("attributes.run_id IN ('r1', 'r3', 'r7')", {"r1", "r3"}),
        ("run_id NOT IN ('r1', 'r3')", {"r2", "r4"}),
        ("status = 'FINISHED'", {"r1", "r2"}),
        ("status != 'FINISHED'", {"r3", "r4"}),
        ("run_name LIKE 'cnn%'", {"r1"}),
        ("`Run name` ILIKE 'cnn%'", {"r1", "r2"}),
        ("start_time > 100", {"r2", "r3", "r4"}),
        ("created <= 200", {"r1", "r3"}),
        ("end_time < 200", {"r1"}),
        ("duration > 20", {"r1"}),
        ("duration <= 10", {"r2"}),  # runs without end_time have no duration
        ("lifecycle_stage = 'active'", {"r1", "r2", "r3", "r4"}),
    ],
)
def test_attribute_comparators(conn: Connection, filter: str, expected: set[str]) -> None:
    assert matching(conn, filter) == expected


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ("datasets.name = 'train-set'", {"r1", "r2"}),
        ("datasets.name LIKE 'eval%'", {"r1"}),
        ("datasets.digest IN ('def')", {"r1"}),
        ("datasets.context = 'training'", {"r1"}),
        ("datasets.context NOT IN ('training')", {"r1", "r2"}),  # r1 also has an eval input
        ("datasets.context = 'eval' AND datasets.name = 'train-set'", {"r1", "r2"}),
    ],
)
def test_dataset_filters(conn: Connection, filter: str, expected: set[str]) -> None:
    assert matching(conn, filter) == expected


# -- runs: order_by ------------------------------------------------------------------------


def test_order_by_metric_puts_nan_then_missing_last_in_both_directions(conn: Connection) -> None:
    # r3's rmse is NaN, r4 has none.
    assert run_ids(conn, order_by=["metrics.rmse"]) == ["r1", "r2", "r3", "r4"]
    assert run_ids(conn, order_by=["metrics.rmse DESC"]) == ["r2", "r1", "r3", "r4"]


def test_order_by_param_and_tag_nulls_last(conn: Connection) -> None:
    assert run_ids(conn, order_by=["params.lr DESC"]) == ["r1", "r2", "r4", "r3"]
    assert run_ids(conn, order_by=["params.lr ASC"]) == ["r2", "r1", "r4", "r3"]
    assert run_ids(conn, order_by=["tags.team"]) == ["r1", "r3", "r2", "r4"]  # byte order: V < n < v


def test_order_by_attribute_nulls_last(conn: Connection) -> None:
    assert run_ids(conn, order_by=["end_time"]) == ["r1", "r2", "r4", "r3"]
    assert run_ids(conn, order_by=["end_time DESC"]) == ["r2", "r1", "r4", "r3"]
    assert run_ids(conn, order_by=["duration DESC"]) == ["r1", "r2", "r4", "r3"]


def test_order_by_ties_fall_back_to_start_time_then_run_id(conn: Connection) -> None:
    assert run_ids(conn, order_by=["status"]) == ["r3", "r2", "r1", "r4"]
    assert run_ids(conn, order_by=["start_time"]) == ["r1", "r3", "r2", "r4"]
    assert run_ids(conn, order_by=["run_id DESC"]) == ["r4", "r3", "r2", "r1"]


def test_order_by_several_keys_with_a_filter(conn: Connection) -> None:
    assert run_ids(conn, "status = 'FINISHED'", ["metrics.rmse DESC", "params.lr"]) == ["r2", "r1"]
    assert run_ids(conn, None, ["tags.team DESC", "metrics.rmse"]) == ["r2", "r3", "r1", "r4"]


def test_paging_with_limit_and_offset_is_stable(conn: Connection) -> None:
    stmt = select_run_ids(WS, ["1"], "ALL", (), parse_order_by("runs", ["status"]))
    pages = [list(conn.execute(stmt.limit(2).offset(o)).scalars()) for o in (0, 2, 4)]
    assert [run for page in pages for run in page] == list(conn.execute(stmt).scalars())


def test_compiled_statements_are_reused_with_fresh_values(conn: Connection) -> None:
    # Same statement shape, different LIKE patterns: the compiled-statement cache must not
    # hand the first pattern to the second query.
    assert matching(conn, "params.model LIKE 'C%'") == {"r1"}
    assert matching(conn, "params.model LIKE 'c%'") == {"r2"}


# -- experiments -----------------------------------------------------------------------------


def experiment_ids(
    conn: Connection, filter: str | None = None, order_by: list[str] | None = None, view: str = "ACTIVE_ONLY"
) -> list[int]:
    stmt = select_experiment_ids(
        WS, view, parse_experiment_filter(filter), parse_order_by("experiments", order_by)
    )
    return list(conn.execute(stmt).scalars())


def test_experiments_default_order_is_newest_first(conn: Connection) -> None:
    assert experiment_ids(conn) == [1, 2, 0, 3]  # no creation_time sorts last
    assert experiment_ids(conn, view="ALL") == [1, 2, 4, 0, 3]


def test_on_sqlite_the_default_experiments_order_is_read_off_an_index(conn: Connection) -> None:
    if conn.dialect.name != "sqlite":
        pytest.skip("SQLite only: PostgreSQL sorts a page of experiments in C at little cost")
    stmt = select_experiment_ids(WS, "ACTIVE_ONLY")
    sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
    plan = " / ".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    assert "ix_experiments_created" in plan
    assert "TEMP B-TREE" not in plan  # nothing left to sort


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ("name LIKE 'fraud%'", [1]),
        ("name ILIKE 'fraud%'", [1, 2]),
        ("name != 'churn'", [1, 2, 0]),
        ("experiment_id IN ('0', '3', '5')", [0, 3]),
        ("experiment_id = 2", [2]),
        ("experiment_id NOT IN ('1')", [2, 0, 3]),
        ("creation_time >= 200", [1, 2]),
        ("tags.team = 'risk'", [1]),
        ("tags.team ILIKE 'risk'", [1, 2]),
        ("tags.team IS NULL", [0, 3]),  # the other workspace's Default has the tag; ours not
    ],
)
def test_experiment_filters(conn: Connection, filter: str, expected: list[int]) -> None:
    assert experiment_ids(conn, filter) == expected


def test_experiment_order_by(conn: Connection) -> None:
    assert experiment_ids(conn, order_by=["name"]) == [0, 2, 3, 1]  # byte order: D < F < c < f
    assert experiment_ids(conn, order_by=["creation_time ASC"]) == [0, 2, 1, 3]
    assert experiment_ids(conn, order_by=["experiment_id DESC"]) == [3, 2, 1, 0]


# -- registry ------------------------------------------------------------------------------


def model_names(conn: Connection, filter: str | None = None, order_by: list[str] | None = None) -> list[str]:
    stmt = select_registered_model_names(
        WS, parse_registered_model_filter(filter), parse_order_by("registered_models", order_by)
    )
    return list(conn.execute(stmt).scalars())


def test_registered_models_by_name_with_prompts_hidden(conn: Connection) -> None:
    assert model_names(conn) == ["Fraud-v2", "churn", "fraud"]


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ("name = 'fraud'", ["fraud"]),
        ("name LIKE 'F%'", ["Fraud-v2"]),
        ("name ILIKE 'f%'", ["Fraud-v2", "fraud"]),
        ("name IN ('churn', 'fraud', 'my-prompt')", ["churn", "fraud"]),
        ("name NOT IN ('churn')", ["Fraud-v2", "fraud"]),
        ("tags.stage = 'prod'", ["fraud"]),
        ("tags.stage IS NULL", ["Fraud-v2"]),
        # The stock client appends this to every model search; models lack the tag entirely.
        ("tag.`mlflow.prompt.is_prompt` != 'true'", ["Fraud-v2", "churn", "fraud"]),
        ("tags.`mlflow.prompt.is_prompt` = 'false'", ["Fraud-v2", "churn", "fraud"]),
        ("tags.`mlflow.prompt.is_prompt` = 'true'", ["my-prompt"]),
    ],
)
def test_registered_model_filters(conn: Connection, filter: str, expected: list[str]) -> None:
    assert model_names(conn, filter) == expected


def test_registered_model_order_by(conn: Connection) -> None:
    assert model_names(conn, order_by=["timestamp DESC"]) == ["fraud", "churn", "Fraud-v2"]
    assert model_names(conn, order_by=["creation_timestamp"]) == ["fraud", "Fraud-v2", "churn"]
    assert model_names(conn, order_by=["name DESC"]) == ["fraud", "churn", "Fraud-v2"]


def versions(
    conn: Connection, filter: str | None = None, order_by: list[str] | None = None
) -> list[tuple[str, int]]:
    stmt = select_model_version_keys(
        WS, parse_model_version_filter(filter), parse_order_by("model_versions", order_by)
    )
    return [tuple(row) for row in conn.execute(stmt)]


def test_model_versions_default_order_skips_deleted_and_prompts(conn: Connection) -> None:
    # last_updated DESC, then name ASC, then version DESC
    assert versions(conn) == [("churn", 1), ("fraud", 2), ("fraud", 1)]


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ("name = 'fraud'", [("fraud", 2), ("fraud", 1)]),
        ("name = 'fraud' AND version_number > 1", [("fraud", 2)]),
        ("version_number = '1'", [("churn", 1), ("fraud", 1)]),
        ("run_id IN ('r1', 'r4')", [("churn", 1), ("fraud", 1)]),
        ("source_path LIKE 's3://b/fraud/%'", [("fraud", 2), ("fraud", 1)]),
        ("tags.validated = 'yes'", [("fraud", 2)]),
        ("tag.`mlflow.prompt.is_prompt` = 'true'", [("my-prompt", 1)]),
    ],
)
def test_model_version_filters(conn: Connection, filter: str, expected: list[tuple[str, int]]) -> None:
    assert versions(conn, filter) == expected


def test_model_version_order_by(conn: Connection) -> None:
    assert versions(conn, order_by=["version_number ASC"]) == [("churn", 1), ("fraud", 1), ("fraud", 2)]
    assert versions(conn, order_by=["name DESC"]) == [("fraud", 2), ("fraud", 1), ("churn", 1)]


# -- logged models ---------------------------------------------------------------------------


def logged_models(
    conn: Connection,
    filter: str | None = None,
    order_by: list[dict[str, Any]] | None = None,
    datasets: tuple[tuple[str, str | None], ...] = (),
) -> list[str]:
    stmt = select_logged_model_ids(
        WS, ["1"], parse_logged_model_filter(filter), parse_logged_model_order_by(order_by), datasets
    )
    return list(conn.execute(stmt).scalars())


def test_logged_models_default_order_is_newest_first(conn: Connection) -> None:
    assert logged_models(conn) == ["m-2", "m-3", "m-1"]


@pytest.mark.parametrize(
    ("filter", "datasets", "expected"),
    [
        ("status = 'READY'", (), ["m-1"]),
        ("status IN ('PENDING', 'FAILED')", (), ["m-2", "m-3"]),
        ("status LIKE 'P%'", (), ["m-2"]),
        ("name = 'clf' AND creation_time > 100", (), ["m-2"]),
        ("params.lr = 0.01", (), ["m-1"]),
        ("params.lr IS NULL", (), ["m-3"]),
        ("metrics.acc > 0.9", (), ["m-1"]),  # any logged value counts, as in MLflow
        ("metrics.acc > 0.75", (("eval", None),), ["m-2"]),
        (None, (("eval", None),), ["m-2", "m-1"]),  # only models with metrics on those datasets
    ],
)
def test_logged_model_filters(
    conn: Connection, filter: str | None, datasets: tuple[tuple[str, str | None], ...], expected: list[str]
) -> None:
    assert logged_models(conn, filter, datasets=datasets) == expected


def test_logged_model_order_by_latest_metric(conn: Connection) -> None:
    # m-1's latest acc is 0.95 (train, newer); on the eval dataset it is 0.70.
    assert logged_models(conn, order_by=[{"field_name": "metrics.acc", "ascending": False}]) == [
        "m-1",
        "m-2",
        "m-3",
    ]
    eval_only = [{"field_name": "metrics.acc", "ascending": False, "dataset_name": "eval"}]
    assert logged_models(conn, order_by=eval_only) == ["m-2", "m-1", "m-3"]  # m-3: none on eval
    assert logged_models(conn, order_by=[{"field_name": "name"}]) == ["m-2", "m-1", "m-3"]


# -- LIKE means the same everywhere ----------------------------------------------------------

_ALPHABET = st.sampled_from(list("aA_%*?[]\\b"))


@settings(max_examples=150, deadline=None)
@given(value=st.text(_ALPHABET, max_size=6), pattern=st.text(_ALPHABET, max_size=6))
def test_like_agrees_with_the_reference_semantics(engine: Engine, value: str, pattern: str) -> None:
    with engine.connect() as c:
        for op, case_sensitive in ((Op.LIKE, True), (Op.ILIKE, False)):
            got = c.execute(select(compare(literal(value), op, pattern))).scalar()
            assert bool(got) is like_matches(value, pattern, case_sensitive=case_sensitive), (
                op,
                value,
                pattern,
            )
