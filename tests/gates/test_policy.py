from pathlib import Path

import pytest

import shipyard as sy
from shipyard.gates.policy import load_policy, parse_policy


def write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "shipyard.toml").write_text(body)
    return tmp_path


GOOD = """
[gate]
protected_aliases = ["champion"]
primary_metric = "roc_auc"
[[gate.checks]]
kind = "min_metric"
metric = "roc_auc"
threshold = 0.8
[[gate.checks]]
kind = "no_regression"
metric = "roc_auc"
max_drop = 0.005
"""


def test_a_policy_is_read_with_defaults_and_named_checks(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, GOOD))
    assert [c.name for c in policy.checks] == ["min_metric:roc_auc", "no_regression:roc_auc"]
    assert policy.checks[1].values["confidence"] == 0.95
    assert policy.protected_aliases == frozenset({"champion"})


def test_the_digest_follows_content_not_formatting(tmp_path: Path) -> None:
    first = load_policy(write(tmp_path, GOOD)).digest
    reformatted = GOOD.replace("threshold = 0.8", "threshold   =   0.8  # same")
    assert load_policy(write(tmp_path, reformatted)).digest == first
    assert load_policy(write(tmp_path, GOOD.replace("0.8", "0.81"))).digest != first


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[[gate.checks]]\nkind = "min_metrik"\nmetric = "f1"\nthreshold = 1',
            r"unknown check kind 'min_metrik' \(did you mean 'min_metric'\?\)",
        ),
        (
            '[[gate.checks]]\nkind = "min_metric"\nmetric = "f1"',
            r"#1 \(kind = 'min_metric'\): min_metric needs 'threshold'",
        ),
        (
            '[[gate.checks]]\nkind = "min_metric"\nmetric = "f1"\nthreshold = "high"',
            "threshold must be a number; got 'high'",
        ),
        (
            '[[gate.checks]]\nkind = "min_metric"\nmetric = "f1"\nthreshold = 1\nthreshhold = 2',
            r"unknown key 'threshhold' \(did you mean 'threshold'\?\)",
        ),
        (
            '[[gate.checks]]\nkind = "no_regression"\nmetric = "f1"\nconfidence = 1.5',
            "confidence must be at most 0.999",
        ),
        ('[[gate.checks]]\nkind = "min_metric"\nmetric = "f1"\nthreshold = 1\nseverity = "loud"', "severity must be"),
        ('[[gate.checks]]\nmetric = "f1"', 'needs kind = "…"'),
        ('[gate]\nprotected = ["x"]', r"unknown key 'protected' in \[gate\]"),
        ('[gate]\ntask = "ranking"', "task must be one of classification, regression"),
    ],
)
def test_bad_policies_say_file_table_key_and_value(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, body if body.startswith("[gate]") else "[gate]\n" + body)
    with pytest.raises(sy.InvalidInput, match=message) as caught:
        load_policy(path)
    assert "shipyard.toml" in str(caught.value)


def test_a_metric_that_does_not_fit_the_task_is_refused(tmp_path: Path) -> None:
    body = '[gate]\ntask = "regression"\n[[gate.checks]]\nkind = "min_metric"\nmetric = "roc_auc"\nthreshold = 0.8\n'
    with pytest.raises(sy.InvalidInput, match="roc_auc"):
        load_policy(write(tmp_path, body))


def test_without_a_gate_table_the_policy_has_no_checks(tmp_path: Path) -> None:
    assert parse_policy({}).checks == ()
    assert load_policy(tmp_path).checks == ()


def test_a_missing_policy_file_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(sy.InvalidInput, match="No policy file"):
        load_policy(tmp_path, tmp_path / "nope.toml")


def test_an_unknown_metric_is_refused_when_the_policy_is_read_even_without_a_task() -> None:

    table = {"checks": [{"kind": "min_metric", "metric": "rocauc", "threshold": 0.8}]}
    with pytest.raises(sy.InvalidInput, match=r"Unknown metric .rocauc..*Did you mean .roc_auc."):
        parse_policy(table, "p.toml")
