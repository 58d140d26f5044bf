"""The search grammar, by example: what each filter means, and what each mistake says."""

from __future__ import annotations

import pytest

import runyard.search as search
from runyard.search import (
    Comparison,
    Identifier,
    KeyKind,
    Op,
    OrderBy,
    SearchSyntaxError,
    parse_experiment_filter,
    parse_filter,
    parse_logged_model_filter,
    parse_logged_model_order_by,
    parse_model_version_filter,
    parse_order_by,
    parse_registered_model_filter,
    parse_run_filter,
)

A, M, P, T, D = KeyKind.ATTRIBUTE, KeyKind.METRIC, KeyKind.PARAM, KeyKind.TAG, KeyKind.DATASET


def one(text: str) -> tuple[KeyKind, str, Op, object]:
    """Parse a single-clause run filter into a compact (kind, key, op, value) tuple."""
    (clause,) = parse_run_filter(text)
    return clause.ident.kind, clause.ident.key, clause.op, clause.value


def error(parse, text: str) -> str:  # noqa: ANN001 - any parse_* function
    with pytest.raises(SearchSyntaxError) as info:
        parse(text)
    assert isinstance(info.value, ValueError)
    return info.value.message


# -- what filters mean -------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, "", "   "])
def test_empty_filter_has_no_clauses(text: str | None) -> None:
    assert parse_run_filter(text) == ()


def test_a_filter_is_a_tuple_of_typed_comparisons() -> None:
    assert parse_run_filter("metrics.rmse < 0.5 AND params.model = 'cnn'") == (
        Comparison(Identifier(M, "rmse"), Op.LT, 0.5),
        Comparison(Identifier(P, "model"), Op.EQ, "cnn"),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.rmse = 1", (M, "rmse", Op.EQ, 1.0)),
        ("metrics.rmse != 1", (M, "rmse", Op.NE, 1.0)),
        ("metrics.rmse < 1", (M, "rmse", Op.LT, 1.0)),
        ("metrics.rmse <= 1", (M, "rmse", Op.LE, 1.0)),
        ("metrics.rmse > 1", (M, "rmse", Op.GT, 1.0)),
        ("metrics.rmse >= 1", (M, "rmse", Op.GE, 1.0)),
        ("params.model LIKE 'cnn%'", (P, "model", Op.LIKE, "cnn%")),
        ("params.model ILIKE 'CNN%'", (P, "model", Op.ILIKE, "CNN%")),
        ("params.model IS NULL", (P, "model", Op.IS_NULL, None)),
        ("tags.team IS NOT NULL", (T, "team", Op.IS_NOT_NULL, None)),
        ("run_id IN ('a', 'b')", (A, "run_id", Op.IN, ("a", "b"))),
        ("run_id NOT IN ('a')", (A, "run_id", Op.NOT_IN, ("a",))),
        ("datasets.name IN ('train', 'eval')", (D, "name", Op.IN, ("train", "eval"))),
    ],
)
def test_every_comparator(text: str, expected: tuple[object, ...]) -> None:
    assert one(text) == expected


def test_keywords_are_case_insensitive() -> None:
    lower = "params.m like 'a%' and tags.t ilike 'b' And run_id not in ('a') AND tags.x is not null"
    upper = "params.m LIKE 'a%' AND tags.t ILIKE 'b' AND run_id NOT IN ('a') AND tags.x IS NOT NULL"
    assert parse_run_filter(lower) == parse_run_filter(upper)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("metrics.`my key` > 1", "my key"),
        ('metrics."my key" > 1', "my key"),
        ("metrics.`a``b` > 1", "a`b"),  # a doubled backquote inside a backquoted name
        ("metrics.val/loss > 1", "val/loss"),
        ("metrics.f1-score > 1", "f1-score"),
        ("metrics.`rmse.valid` > 1", "rmse.valid"),
    ],
)
def test_keys_may_be_quoted_or_contain_punctuation(text: str, key: str) -> None:
    assert one(text)[:2] == (M, key)


def test_dotted_tag_keys_need_no_quotes() -> None:
    assert one("tags.mlflow.runName = 'fluffy-cat'") == (T, "mlflow.runName", Op.EQ, "fluffy-cat")


@pytest.mark.parametrize(
    "prefix",
    ["metric", "metrics", "`metrics`"],
)
def test_metric_prefix_spellings(prefix: str) -> None:
    assert one(f"{prefix}.acc > 0")[:2] == (M, "acc")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("param.p = 'x'", P),
        ("params.p = 'x'", P),
        ("parameter.p = 'x'", P),
        ("parameters.p = 'x'", P),
        ("tag.t = 'x'", T),
        ("tags.t = 'x'", T),
        ("attribute.status = 'x'", A),
        ("attributes.status = 'x'", A),
        ("attr.status = 'x'", A),
        ("run.status = 'x'", A),
        ("status = 'x'", A),
        ("dataset.name = 'x'", D),
    ],
)
def test_prefix_aliases(text: str, kind: KeyKind) -> None:
    assert one(text)[0] is kind


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("created > 0", "start_time"),
        ("Created > 0", "start_time"),
        ("`Run name` = 'x'", "run_name"),
        ("attributes.`run name` = 'x'", "run_name"),
        ('"run_name" = "x"', "run_name"),  # sqlparse reads a double-quoted word on the left as a name
    ],
)
def test_attribute_aliases_resolve_to_canonical_names(text: str, key: str) -> None:
    assert one(text)[:2] == (A, key)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("metrics.m > -1", -1.0),
        ("metrics.m > +2", 2.0),
        ("metrics.m > .5", 0.5),
        ("metrics.m > 1e-3", 0.001),
        ("metrics.m > 1.5E3", 1500.0),
        ("start_time > 1700000000000", 1700000000000),  # an int: timestamps stay exact
        ("start_time > 1.5", 1.5),
        ("params.p = 'it''s'", "it's"),  # SQL doubling, as MLflow's own client escapes
        (r"params.p = 'it\'s'", "it's"),
        ('params.p = "double"', "double"),
        ('params.p = "say ""hi"""', 'say "hi"'),
        (r"params.p LIKE '50\%'", r"50\%"),  # other backslashes stay: LIKE uses them
        ("params.p = ''", ""),
        ("params.p = 'AND x = 1'", "AND x = 1"),
    ],
)
def test_values(text: str, value: object) -> None:
    assert one(text)[3] == value
    assert type(one(text)[3]) is type(value)


def test_run_attributes_cover_mlflow_plus_duration_and_lifecycle() -> None:
    text = (
        "run_id = 'a' AND run_name = 'b' AND status = 'FINISHED' AND artifact_uri LIKE 's3://%' "
        "AND user_id = 'me' AND lifecycle_stage = 'active' AND start_time > 1 AND end_time < 2 "
        "AND duration >= 3"
    )
    keys = [c.ident.key for c in parse_run_filter(text)]
    assert keys == [
        "run_id", "run_name", "status", "artifact_uri", "user_id",
        "lifecycle_stage", "start_time", "end_time", "duration",
    ]  # fmt: skip


def test_mlflow_client_generated_filters_parse() -> None:
    # Filters the stock client builds itself (prompt registry, genai datasets, docs).
    assert parse_registered_model_filter("name = 'a' AND tag.`mlflow.prompt.is_prompt` != 'true'")[
        1
    ] == Comparison(Identifier(T, "mlflow.prompt.is_prompt"), Op.NE, "true")
    assert parse_model_version_filter("name='m' AND tag.`mlflow.prompt.is_prompt` = 'true'")
    assert parse_experiment_filter("name = 'O''Brien'")[0].value == "O'Brien"
    assert parse_run_filter("tags.mlflow.parentRunId='abc'")
    assert parse_run_filter("run_id = 'ae9a606a12834c04a8ef1006d0cff779'")
    assert parse_experiment_filter("last_update_time < 1700000000000")
    assert parse_logged_model_filter("metrics.loss > 0.1 AND params.lr = 0.01")


# -- other entities ------------------------------------------------------------------------


def test_experiment_filters() -> None:
    assert parse_experiment_filter(
        "name LIKE 'fraud%' AND experiment_id IN ('1', '2') AND creation_time > 5 AND tags.team IS NULL"
    ) == (
        Comparison(Identifier(A, "name"), Op.LIKE, "fraud%"),
        Comparison(Identifier(A, "experiment_id"), Op.IN, ("1", "2")),
        Comparison(Identifier(A, "creation_time"), Op.GT, 5),
        Comparison(Identifier(T, "team"), Op.IS_NULL, None),
    )
    # Experiment ids are strings of digits on the wire; a bare number is unambiguous.
    assert parse_experiment_filter("experiment_id = 7")[0].value == "7"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "metrics.x > 1",
            "unsupported prefix 'metrics' at column 1; "
            "expected one of attr, attribute, attributes, tag, tags",
        ),
        ("experiment_id = 'abc'", "experiment_id must be a string of digits, got 'abc' at column 17"),
        (
            "experiment_id LIKE '1%'",
            "LIKE is not supported for experiment_id at column 15; expected one of = != IN NOT IN",
        ),
        ("name IN ('a')", "IN is not supported for name at column 6; expected one of = != LIKE ILIKE"),
        ("creation_time > '5'", "creation_time compares to a number, got '5' at column 17"),
    ],
)
def test_experiment_filter_errors(text: str, message: str) -> None:
    assert message in error(parse_experiment_filter, text)


def test_registered_model_filters() -> None:
    assert parse_registered_model_filter("name IN ('a', 'b') AND tags.stage ILIKE 'prod%'") == (
        Comparison(Identifier(A, "name"), Op.IN, ("a", "b")),
        Comparison(Identifier(T, "stage"), Op.ILIKE, "prod%"),
    )
    assert "unknown attribute 'run_id'" in error(parse_registered_model_filter, "run_id = 'x'")


def test_model_version_filters() -> None:
    assert parse_model_version_filter(
        "name = 'm' AND version_number > 2 AND run_id IN ('r') AND source_path LIKE 's3://%'"
    ) == (
        Comparison(Identifier(A, "name"), Op.EQ, "m"),
        Comparison(Identifier(A, "version_number"), Op.GT, 2),
        Comparison(Identifier(A, "run_id"), Op.IN, ("r",)),
        Comparison(Identifier(A, "source_path"), Op.LIKE, "s3://%"),
    )
    # MLflow's SQL store accepts a quoted version number, so we do too.
    assert parse_model_version_filter("version_number = '3'")[0].value == 3
    assert "IN is not supported for source_path" in error(parse_model_version_filter, "source_path IN ('a')")


def test_logged_model_filters() -> None:
    assert parse_logged_model_filter(
        "status IN ('READY', 'PENDING') AND creation_time > 5 AND metrics.acc >= 0.9 "
        "AND params.lr = 0.01 AND tags.t != 'x'"
    ) == (
        Comparison(Identifier(A, "status"), Op.IN, ("READY", "PENDING")),
        Comparison(Identifier(A, "creation_timestamp"), Op.GT, 5),
        Comparison(Identifier(M, "acc"), Op.GE, 0.9),
        Comparison(Identifier(P, "lr"), Op.EQ, "0.01"),  # a bare number is the param's text
        Comparison(Identifier(T, "t"), Op.NE, "x"),
    )
    assert "unsupported prefix 'datasets'" in error(parse_logged_model_filter, "datasets.name = 'd'")


def test_parse_filter_takes_the_entity_by_name() -> None:
    assert parse_filter("experiments", "name = 'a'") == parse_experiment_filter("name = 'a'")
    with pytest.raises(ValueError, match="unknown search entity"):
        parse_filter("traces", "x = 1")


# -- what mistakes say ---------------------------------------------------------------------


def test_error_points_at_the_column_and_lists_what_was_expected() -> None:
    assert error(parse_run_filter, "metrics.rmse <> 1") == (
        "Invalid filter \"metrics.rmse <> 1\": unexpected '<>' at column 14; "
        "expected one of = != < <= > >= LIKE ILIKE IN NOT IN IS"
    )


def test_error_carries_the_column() -> None:
    with pytest.raises(SearchSyntaxError) as info:
        parse_run_filter("metrics.a > 1 AND metrics.b == 2")
    assert info.value.column == 29


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "metrics.rmse == 1",
            "unexpected '==' at column 14; expected one of = != < <= > >= LIKE ILIKE IN NOT IN IS",
        ),
        (
            "metrics.rmse",
            "unexpected end of filter at column 13; expected one of = != < <= > >= LIKE ILIKE IN NOT IN IS",
        ),
        ("metrics.rmse >", "unexpected end of filter at column 15; expected a number"),
        (
            "metrics.rmse LIKE '1%'",
            "LIKE is not supported for metrics.rmse at column 14; expected one of = != < <= > >=",
        ),
        (
            "metrics.rmse IS NULL",
            "IS NULL is not supported for metrics.rmse at column 14; expected one of = != < <= > >=",
        ),
        (
            "metrics.rmse = '1'",
            "metrics.rmse compares to a number, got '1' at column 16; expected a number without quotes",
        ),
        ("metrics.rmse = 0x10", "malformed number '0x10' at column 16"),
        (
            "params.lr = 1",
            "params.lr compares to a quoted string, got 1 at column 13; expected a quoted string such as '1'",
        ),
        (
            "status = RUNNING",
            "status compares to a quoted string, got RUNNING at column 10; "
            "expected a quoted string such as 'RUNNING'",
        ),
        (
            "params.lr > '1'",
            "> is not supported for params.lr at column 11; "
            "expected one of = != LIKE ILIKE IS NULL IS NOT NULL",
        ),
        ("start_time IN (1)", "IN is not supported for start_time at column 12"),
        ("tags.t IN ('a')", "IN is not supported for tags.t at column 8"),
        (
            "start_time LIKE '1%'",
            "LIKE is not supported for start_time at column 12; expected one of = != < <= > >=",
        ),
        ("end_time IS NULL", "IS NULL is not supported for end_time at column 10"),
        ("run_id IN ()", "empty list at column 11; expected at least one quoted string"),
        ("run_id IN ('a', 1)", "unexpected '1' at column 17; expected a quoted string"),
        ("run_id IN ('a' 'b')", "unexpected \"'b'\" at column 16; expected ',' or ')'"),
        (
            "run_id IN 'a'",
            "unexpected \"'a'\" at column 11; "
            "expected a parenthesised list of quoted strings such as ('a', 'b')",
        ),
        ("params.p NOT LIKE 'a'", "unexpected 'LIKE' at column 14; expected IN after NOT"),
        ("params.p IS 'a'", "unexpected \"'a'\" at column 13; expected NULL or NOT NULL"),
        ("params.p IS NOT 'a'", "unexpected \"'a'\" at column 17; expected NULL"),
        ("params.p = 'abc", "unterminated string starting at column 12"),
        ("metrics.`abc > 1", "unterminated backquoted name starting at column 9"),
        ("metrics. > 1", "expected a key after 'metrics.' at column 9"),
        ("Metrics.x > 1", "unsupported prefix 'Metrics' at column 1"),
        (
            "foo = 'a'",
            "unknown attribute 'foo' at column 1; expected one of artifact_uri, duration, end_time",
        ),
        (
            "datasets.size = 'a'",
            "unknown dataset field 'size' at column 1; expected one of context, digest, name",
        ),
        (
            "metrics.a > 1 OR metrics.b > 1",
            "unexpected 'OR' at column 15; expected AND or the end of the filter",
        ),
        (
            "metrics.a > 1 metrics.b > 1",
            "unexpected 'metrics.b' at column 15; expected AND or the end of the filter",
        ),
        (
            "metrics.a > 1 AND",
            "unexpected end of filter at column 18; expected an identifier such as metrics.<key>",
        ),
        ("AND metrics.a > 1", "unexpected 'AND' at column 1; expected an identifier"),
        ("(metrics.a > 1)", "unexpected '(' at column 1; expected an identifier"),
        ("'a' = params.p", "unexpected \"'a'\" at column 1; expected an identifier"),
        ("metrics.a ! 1", "unexpected character '!' at column 11"),
        ("metrics.a > 1;", "unexpected character ';' at column 14"),
    ],
)
def test_run_filter_errors(text: str, message: str) -> None:
    full = error(parse_run_filter, text)
    assert full.startswith(f'Invalid filter "{text}": ')
    assert message in full


def test_very_long_filters_are_abbreviated_in_messages() -> None:
    text = "params.p = '" + "x" * 2000 + "' AND nope = 1"
    message = error(parse_run_filter, text)
    assert len(message) < 500
    assert "unknown attribute 'nope' at column 2019" in message


# -- order_by ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("metrics.rmse", OrderBy(Identifier(M, "rmse"), ascending=True)),
        ("metrics.rmse DESC", OrderBy(Identifier(M, "rmse"), ascending=False)),
        ("metrics.`my key` asc", OrderBy(Identifier(M, "my key"), ascending=True)),
        ("params.lr desc", OrderBy(Identifier(P, "lr"), ascending=False)),
        ("tags.team", OrderBy(Identifier(T, "team"))),
        ("attributes.start_time", OrderBy(Identifier(A, "start_time"))),
        ("created DESC", OrderBy(Identifier(A, "start_time"), ascending=False)),
        ("  run_name   ASC  ", OrderBy(Identifier(A, "run_name"))),
        ("duration DESC", OrderBy(Identifier(A, "duration"), ascending=False)),
    ],
)
def test_run_order_by(clause: str, expected: OrderBy) -> None:
    assert parse_order_by("runs", [clause]) == (expected,)


def test_order_by_defaults_are_left_to_the_compiler() -> None:
    assert parse_order_by("runs", None) == ()
    assert parse_order_by("runs", []) == ()


@pytest.mark.parametrize(
    ("entity", "clause", "key"),
    [
        ("experiments", "name", "name"),
        ("experiments", "experiment_id DESC", "experiment_id"),
        ("experiments", "last_update_time", "last_update_time"),
        ("registered_models", "timestamp DESC", "last_updated_timestamp"),  # MLflow's alias
        ("registered_models", "creation_timestamp", "creation_timestamp"),
        ("model_versions", "version_number DESC", "version_number"),
        ("logged_models", "creation_time", "creation_timestamp"),
        ("logged_models", "metrics.acc DESC", "acc"),
    ],
)
def test_order_by_for_other_entities(entity: str, clause: str, key: str) -> None:
    (order,) = parse_order_by(entity, [clause])
    assert order.key.key == key


@pytest.mark.parametrize(
    ("entity", "clause", "message"),
    [
        (
            "runs",
            "metrics.rmse DESCENDING",
            "unexpected 'DESCENDING' at column 14; expected ASC, DESC or the end of the clause",
        ),
        ("runs", "metrics.rmse DESC ASC", "unexpected 'ASC' at column 19; expected the end of the clause"),
        ("runs", "metrics.a, metrics.b", "unexpected ',' at column 10"),
        (
            "runs",
            "datasets.name",
            "cannot order runs by datasets at column 1; "
            "expected metrics.<key>, params.<key>, tags.<key> or an attribute",
        ),
        ("experiments", "tags.team", "cannot order experiments by tags at column 1; expected an attribute"),
        (
            "experiments",
            "foo",
            "unknown attribute 'foo' at column 1; "
            "expected one of creation_time, experiment_id, last_update_time, name",
        ),
        ("model_versions", "run_id", "unknown attribute 'run_id' at column 1"),
    ],
)
def test_order_by_errors(entity: str, clause: str, message: str) -> None:
    full = error(lambda c: parse_order_by(entity, [c]), clause)
    assert full.startswith(f'Invalid order_by "{clause}": ')
    assert message in full


def test_order_by_rejects_empty_and_duplicate_clauses() -> None:
    assert "expected a non-empty clause" in error(lambda c: parse_order_by("runs", [c]), " ")
    message = error(lambda c: parse_order_by("runs", c), ["created", "start_time DESC"])
    assert message == "Invalid order_by: start_time appears more than once"


def test_logged_model_order_by_is_structured() -> None:
    parsed = parse_logged_model_order_by(
        [
            {"field_name": "metrics.acc", "ascending": False, "dataset_name": "eval", "dataset_digest": "d1"},
            {"field_name": "creation_time", "dataset_name": "ignored for attributes"},
        ]
    )
    assert parsed == (
        OrderBy(Identifier(M, "acc"), ascending=False, dataset_name="eval", dataset_digest="d1"),
        OrderBy(Identifier(A, "creation_timestamp"), ascending=True),
    )


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({}, "`field_name` must be specified"),
        ({"field_name": "params.lr"}, "cannot order logged_models by params"),
        ({"field_name": "metrics.acc DESC"}, "unexpected 'DESC' at column 13"),
        ({"field_name": "name", "ascending": "yes"}, "`ascending` must be a boolean"),
        ({"field_name": "metrics.a", "dataset_digest": "d"}, "`dataset_digest` requires `dataset_name`"),
    ],
)
def test_logged_model_order_by_errors(item: dict[str, object], message: str) -> None:
    assert message in error(lambda i: parse_logged_model_order_by([i]), item)


# -- the public surface --------------------------------------------------------------------


def test_public_names_resolve() -> None:
    for name in search.__all__:
        assert getattr(search, name) is not None
    assert sorted(search.__all__) == search.__all__


def test_identifiers_print_as_they_would_be_typed() -> None:
    assert str(Identifier(M, "rmse")) == "metrics.rmse"
    assert str(Identifier(M, "my key")) == "metrics.`my key`"
    assert str(Identifier(T, "mlflow.runName")) == "tags.mlflow.runName"
    assert str(Identifier(A, "status")) == "status"
