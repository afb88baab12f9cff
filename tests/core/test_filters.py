from __future__ import annotations

import pytest

from shipyard.core.errors import FilterSyntaxError, InvalidInput
from shipyard.core.filters import MAX_COMPARISONS, MAX_ORDER_BY, Comparison, OrderBy, parse_filter, parse_order_by


@pytest.mark.parametrize("text", [None, "", "   \t "])
def test_empty_filter_matches_everything(text: str | None) -> None:
    assert parse_filter(text) == []


def test_conjunction_of_comparisons_with_columns() -> None:
    assert parse_filter("metrics.auc > 0.9 and params.optimizer = 'adam'") == [
        Comparison("metrics", "auc", ">", 0.9, column=1),
        Comparison("params", "optimizer", "=", "adam", column=23),
    ]


def test_keywords_and_entities_are_case_insensitive_and_singular_forms_normalise() -> None:
    parsed = parse_filter("Metric.auc >= 1 AND param.lr like '0.1%' aNd TAG.team ilike 'ML' AND ATTR.Name != 'x'")
    assert [(c.entity, c.key, c.op) for c in parsed] == [
        ("metrics", "auc", ">="),
        ("params", "lr", "LIKE"),
        ("tags", "team", "ILIKE"),
        ("attributes", "name", "!="),
    ]


def test_key_is_everything_after_the_first_dot() -> None:
    assert parse_filter("metrics.train/val.loss:1-a < 2")[0].key == "train/val.loss:1-a"


@pytest.mark.parametrize(
    ("text", "key"),
    [("metrics.`my loss` < 1", "my loss"), ('metrics."my loss" < 1', "my loss"), ("metrics.`a``b` < 1", "a`b")],
)
def test_quoted_keys(text: str, key: str) -> None:
    assert parse_filter(text)[0].key == key


@pytest.mark.parametrize(
    ("literal", "value"),
    [("3", 3.0), ("-0.5", -0.5), ("+.25", 0.25), ("1e-3", 0.001), ("-2.5E+4", -25000.0), ("7.", 7.0)],
)
def test_numbers(literal: str, value: float) -> None:
    assert parse_filter(f"metrics.auc<{literal}")[0].value == value


@pytest.mark.parametrize(
    ("literal", "value"),
    [("'adam'", "adam"), ('"adam"', "adam"), ("'it''s'", "it's"), ('"say ""hi"""', 'say "hi"'), (r"'a\b'", r"a\b")],
)
def test_strings_double_their_quote_to_escape_it(literal: str, value: str) -> None:
    assert parse_filter(f"tags.note = {literal}")[0].value == value


@pytest.mark.parametrize(
    ("written", "op"), [("=", "="), ("!=", "!="), ("<>", "!="), ("<", "<"), ("<=", "<="), (">", ">"), (">=", ">=")]
)
def test_comparison_operators(written: str, op: str) -> None:
    assert parse_filter(f"metrics.a {written} 1")[0].op == op


def test_attributes_normalise_names_and_status() -> None:
    assert parse_filter(
        "attributes.id = 'r1' AND attr.STATUS = 'Finished' AND attribute.start_time >= 1700000000000"
    ) == [
        Comparison("attributes", "run_id", "=", "r1", column=1),
        Comparison("attributes", "status", "=", "finished", column=26),
        Comparison("attributes", "start_time", ">=", 1.7e12, column=55),
    ]
    assert parse_filter("attributes.parent_id != 'p'")[0].key == "parent_id"


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        (
            "metrics.auc is 1",
            13,
            "expected a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE) after 'metrics.auc'",
        ),
        ("metrics.auc > 1 OR metrics.auc < 0", 17, "OR is not supported"),
        ("metircs.auc > 1", 1, "unknown entity 'metircs' (did you mean 'metrics'?)"),
        ("auc > 1", 1, "expected metrics, params, tags or attributes"),
        ("5 > 3", 1, "expected a name such as metrics.auc but found '5'"),
        ("metrics > 1", 8, "expected '.' and a key after 'metrics'"),
        ("metrics. > 1", 9, "expected a key after 'metrics.' but found a space"),
        ("metrics.`` > 1", 9, "the key after 'metrics.' is empty"),
        ("metrics.`abc > 1", 9, "unterminated string: the ` here"),
        (
            "metrics.auc >",
            14,
            "expected a number or a quoted string after 'metrics.auc >' but found the end of the filter",
        ),
        ("metrics.auc > NaN", 15, "but found 'NaN'"),
        ("metrics.auc > 1.2.3", 15, "but found '1.2.3'"),
        ("params.opt = adam", 14, "put text in quotes, as in 'adam'"),
        ("params.a = 'abc", 12, "unterminated string: the ' here"),
        ("params.a = 'abc''", 12, "unterminated string"),
        ("metrics.auc > 1 extra", 17, "expected AND or the end of the filter but found 'extra'"),
        ("metrics.auc > 1 AND", 20, "expected a name such as metrics.auc but found the end of the filter"),
        ("AND metrics.auc > 1", 1, "but found 'AND'"),
        ("metrics.auc == 1", 13, "use '='"),
        ("metrics.auc LIKE '0.9'", 13, "metrics.auc cannot be compared with LIKE; use one of =, !=, <, <=, >, >="),
        ("metrics.auc > '0.9'", 15, "metrics.auc is compared with numbers but found the string '0.9'"),
        ("params.lr = 0.01", 13, "put it in quotes: '0.01'"),
        ("tags.n < 'x'", 8, "use one of =, !=, LIKE, ILIKE"),
        (
            "attributes.stat = 'x'",
            12,
            "unknown attribute 'stat' (did you mean 'status'?); expected one of name, status",
        ),
        ("attributes.status = 'done'", 21, "must be one of running, finished, failed, crashed but found 'done'"),
        ("attributes.status = 'finsihed'", 21, "(did you mean 'finished'?)"),
        ("attributes.status LIKE 'f%'", 19, "use one of =, !="),
        ("attributes.run_id > 'a'", 19, "cannot be compared with >"),
        ("attributes.name = 1", 19, "is compared with text"),
        ("attributes.end_time > 'yesterday'", 23, "is compared with numbers"),
    ],
)
def test_errors_point_at_the_offending_token(text: str, column: int, fragment: str) -> None:
    with pytest.raises(FilterSyntaxError) as raised:
        parse_filter(text)
    assert raised.value.column == column
    assert fragment in str(raised.value)


def test_columns_count_leading_whitespace_and_the_caret_points_there() -> None:
    with pytest.raises(FilterSyntaxError) as raised:
        parse_filter("    abc.x = 1")
    assert str(raised.value).endswith("at column 5:\n      abc.x = 1\n      ^")


def test_order_by() -> None:
    assert parse_order_by(
        ["metrics.auc DESC", "param.lr", " attr.start_time asc ", "attributes.id", "tags.`a b` desc"]
    ) == [
        OrderBy("metrics", "auc", descending=True),
        OrderBy("params", "lr", descending=False),
        OrderBy("attributes", "start_time", descending=False),
        OrderBy("attributes", "run_id", descending=False),
        OrderBy("tags", "a b", descending=True),
    ]
    assert parse_order_by(None) == parse_order_by([]) == []


@pytest.mark.parametrize(
    ("item", "column", "fragment"),
    [
        ("metrics.auc DOWN", 13, "expected ASC or DESC but found 'DOWN'"),
        ("metrics.auc DESC x", 18, "expected the end of the order_by item but found 'x'"),
        ("metrics.auc, params.lr", 12, "expected ASC, DESC or the end of the order_by item but found ','"),
        ("attributes.parent_id", 12, "expected one of name, status, start_time, end_time, run_id"),
        ("metric", 7, "expected '.' and a key after 'metric' (as in metrics.x) but found the end of the order_by item"),
    ],
)
def test_order_by_errors(item: str, column: int, fragment: str) -> None:
    with pytest.raises(FilterSyntaxError) as raised:
        parse_order_by(["metrics.auc", item])
    assert raised.value.column == column
    assert raised.value.text == item
    assert fragment in str(raised.value)


@pytest.mark.parametrize(("items", "fragment"), [(["  "], "got '  '"), ("metrics.auc", "Pass ['metrics.auc']")])
def test_order_by_rejects_empty_items_and_bare_strings(items: list[str], fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        parse_order_by(items)


def test_a_filter_may_hold_up_to_the_limit_of_comparisons() -> None:
    text = " and ".join(f"metrics.m{i} > 0" for i in range(MAX_COMPARISONS))
    assert len(parse_filter(text)) == MAX_COMPARISONS == 50


@pytest.mark.parametrize("count", [51, 2001])
def test_more_comparisons_than_the_limit_name_the_limit(count: int) -> None:
    text = " and ".join("metrics.auc > 0" for _ in range(count))
    with pytest.raises(InvalidInput, match=f"has {count:,} comparisons; a filter holds at most 50") as caught:
        parse_filter(text)
    assert len(str(caught.value)) < 400  # the message does not repeat a filter of any length


def test_order_by_may_hold_up_to_the_limit_of_items() -> None:
    assert len(parse_order_by([f"params.p{i}" for i in range(MAX_ORDER_BY)])) == MAX_ORDER_BY == 10
    with pytest.raises(InvalidInput, match="order_by holds at most 10 items; got 11"):
        parse_order_by([f"params.p{i}" for i in range(11)])
