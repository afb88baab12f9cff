"""Every metric equals scikit-learn's, weighted or not; where a metric is undefined, InvalidInput says why."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sklearn.metrics as skm

from shipyard.core.errors import InvalidInput
from shipyard.gates.metrics import METRICS, check_metric, compute, metric_names

SEEDS = range(12)
BINARY = ["accuracy", "balanced_accuracy", "precision", "recall", "f1", "mcc", "roc_auc", "pr_auc", "log_loss", "brier"]
MULTICLASS = ["accuracy", "balanced_accuracy", "precision", "recall", "f1", "mcc", "roc_auc", "log_loss"]
REGRESSION = ["mae", "rmse", "r2", "mape"]


def sklearn_value(name: str, y: Any, labels: Any, scores: Any, w: Any, positive: Any = 1) -> float:
    """scikit-learn's value of metric ``name``: the reference (macro averages when there are > 2 classes)."""
    binary = len(np.unique(y)) <= 2
    rate: dict[str, Any] = {"average": "binary", "pos_label": positive} if binary else {"average": "macro"}
    reference = {
        "accuracy": lambda: skm.accuracy_score(y, labels, sample_weight=w),
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(y, labels, sample_weight=w),
        "precision": lambda: skm.precision_score(y, labels, sample_weight=w, zero_division=0, **rate),
        "recall": lambda: skm.recall_score(y, labels, sample_weight=w, zero_division=0, **rate),
        "f1": lambda: skm.f1_score(y, labels, sample_weight=w, zero_division=0, **rate),
        "mcc": lambda: skm.matthews_corrcoef(y, labels, sample_weight=w),
        "roc_auc": lambda: skm.roc_auc_score(y, scores, sample_weight=w, multi_class="ovr"),
        "pr_auc": lambda: skm.average_precision_score(y, scores, sample_weight=w, pos_label=positive),
        "log_loss": lambda: skm.log_loss(y, scores, sample_weight=w),
        "brier": lambda: skm.brier_score_loss(y, scores, sample_weight=w, pos_label=positive),
        "mae": lambda: skm.mean_absolute_error(y, labels, sample_weight=w),
        "rmse": lambda: skm.root_mean_squared_error(y, labels, sample_weight=w),
        "r2": lambda: skm.r2_score(y, labels, sample_weight=w),
        "mape": lambda: skm.mean_absolute_percentage_error(y, labels, sample_weight=w),
    }
    return float(reference[name]())


def weights(rng: np.random.Generator, n: int) -> Any:
    w = rng.uniform(0, 2, n)
    w[rng.random(n) < 0.1] = 0.0  # zero weights: sklearn drops such rows from its curves
    return w


def binary_data(seed: int) -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(40, 150))
    y = rng.integers(0, 2, n)
    scores = np.clip(0.5 * y + rng.normal(0.25, 0.25, n), 0, 1)
    if seed % 2:
        scores = np.round(scores, 1)  # many ties
    labels = (scores > 0.5).astype(int)
    return y, labels, scores


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", BINARY)
def test_binary_metrics_equal_sklearn(name: str, seed: int, weighted: bool) -> None:
    y, labels, scores = binary_data(seed)
    w = weights(np.random.default_rng(seed + 100), len(y)) if weighted else None
    ours = compute(name, y, labels=labels, scores=scores, weights=w)
    assert ours == pytest.approx(sklearn_value(name, y, labels, scores, w), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", MULTICLASS)
def test_multiclass_metrics_equal_sklearn_macro(name: str, seed: int, weighted: bool) -> None:
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(40, 150)), int(rng.integers(3, 6))
    y = np.r_[np.arange(k), rng.integers(0, k, n - k)]
    probabilities = rng.dirichlet(np.ones(k), n)
    probabilities[np.arange(n), y] += rng.uniform(0, 1, n)  # better than chance, with some errors
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    labels = probabilities.argmax(axis=1)
    w = weights(rng, n) if weighted else None
    ours = compute(name, y, labels=labels, scores=probabilities, weights=w)
    assert ours == pytest.approx(sklearn_value(name, y, labels, probabilities, w), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", REGRESSION)
def test_regression_metrics_equal_sklearn(name: str, seed: int, weighted: bool) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 150))
    y = rng.normal(1000.0 if seed % 2 else 0.0, 3.0, n)  # a large mean must not cost r2 its precision
    predictions = y + rng.normal(0, 2, n)
    w = weights(rng, n) if weighted else None
    ours = compute(name, y, labels=predictions, weights=w)
    assert ours == pytest.approx(sklearn_value(name, y, predictions, None, w), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("name", ["balanced_accuracy", "precision", "recall", "f1", "mcc"])
def test_many_classes_sum_by_sorting_and_still_match(name: str) -> None:
    rng = np.random.default_rng(7)  # 60 classes × 3,000 rows is past the dense one-hot limit
    y = rng.integers(0, 60, 3000)
    labels = np.where(rng.random(3000) < 0.6, y, rng.integers(0, 60, 3000))
    w = weights(rng, 3000)
    assert compute(name, y, labels=labels, weights=w) == pytest.approx(sklearn_value(name, y, labels, None, w))


@pytest.mark.parametrize("name", ["precision", "recall", "f1", "roc_auc", "pr_auc", "brier", "log_loss"])
def test_string_labels_take_the_larger_one_as_positive(name: str) -> None:
    y, labels, scores = binary_data(3)
    names = np.array(["no", "yes"])
    ours = compute(name, names[y], labels=names[labels], scores=scores)
    assert ours == pytest.approx(sklearn_value(name, names[y], names[labels], scores, None, positive="yes"))


def test_a_probability_matrix_counts_as_its_positive_column() -> None:
    y, _, scores = binary_data(4)
    matrix = np.c_[1 - scores, scores]
    for name in ["roc_auc", "pr_auc", "log_loss", "brier"]:
        assert compute(name, y, scores=matrix) == compute(name, y, scores=scores)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_kernels_evaluate_many_weightings_at_once(task: str) -> None:
    rng = np.random.default_rng(5)
    y, labels, scores = binary_data(5)
    names = BINARY
    if task == "multiclass":
        y = np.r_[0, 1, 2, rng.integers(0, 3, 97)]
        scores = rng.dirichlet(np.ones(3), 100)
        labels, names = scores.argmax(axis=1), MULTICLASS
    elif task == "regression":
        y, labels, names = rng.normal(5, 1, 100), rng.normal(5, 1, 100), REGRESSION
    w = rng.poisson(1.0, (4, len(y))).astype(np.float64)
    for name in names:
        spec = METRICS[name]
        batch = spec.prepare(y, labels if spec.needs == "labels" else scores)(w)
        one_by_one = [compute(name, y, labels=labels, scores=scores, weights=row) for row in w]
        np.testing.assert_allclose(batch, one_by_one, rtol=1e-12)


@pytest.mark.parametrize(
    ("name", "y", "predictions", "reason"),
    [
        ("roc_auc", [1, 1, 1], [0.2, 0.5, 0.9], "both classes"),
        ("pr_auc", [0, 0, 0], [0.2, 0.5, 0.9], "no positive"),
        ("precision", [0, 1, 1], [0, 0, 0], "predicted positive"),
        ("recall", [0, 0, 0], [0, 1, 0], "no positive"),
        ("f1", [0, 0], [0, 0], "0/0"),
        ("r2", [3.0, 3.0, 3.0], [1.0, 2.0, 3.0], "constant"),
    ],
)
def test_undefined_metrics_raise_saying_why(name: str, y: Any, predictions: Any, reason: str) -> None:
    key = "scores" if METRICS[name].needs == "scores" else "labels"
    with pytest.raises(InvalidInput, match=f"{name} is undefined.*{reason}"):
        compute(name, y, **{key: predictions})


def test_mcc_of_a_constant_prediction_is_zero_like_sklearn() -> None:
    assert compute("mcc", [0, 1, 1, 0], labels=[1, 1, 1, 1]) == skm.matthews_corrcoef([0, 1, 1, 0], [1, 1, 1, 1]) == 0


def test_log_loss_of_one_class_01_labels_is_defined() -> None:
    y, p = [1, 1, 1], [0.9, 0.6, 0.99]
    assert compute("log_loss", y, scores=p) == pytest.approx(skm.log_loss(y, p, labels=[0, 1]))


@pytest.mark.parametrize(
    ("name", "y", "kwargs", "message"),
    [
        ("precision", ["a", "a"], {"labels": ["a", "a"]}, "which class is positive"),
        ("accuracy", [0, 1], {"labels": ["0", "1"]}, "same kind"),
        ("accuracy", [0, 1, 1], {"labels": [0, 1]}, "3 rows but labels has 2"),
        ("accuracy", [], {"labels": []}, "empty"),
        ("brier", [0, 1], {"scores": [0.5, 1.5]}, r"in \[0, 1\]"),
        ("log_loss", [0, 1, 2], {"scores": [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]}, r"\(n, 3\) probability matrix"),
        ("roc_auc", [0, 1, 2], {"scores": [[0.5, 0.6, 0], [0, 1, 0], [0, 0, 1]]}, "summing to 1"),
        ("pr_auc", [0, 1, 2], {"scores": [0.1, 0.2, 0.3]}, "binary classification"),
        ("mape", [0.0, 2.0], {"labels": [1.0, 2.0]}, "y_true is 0"),
        ("mae", [1.0, 2.0], {"labels": [1.0, np.nan]}, "missing"),
        ("roc_auc", [0, 1], {"labels": [0, 1]}, r"needs scores or probabilities \(scores=…\)"),
        ("accuracy", [0, 1], {"labels": [0, 1], "weights": [0, 0]}, "not all zero"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(name: str, y: Any, kwargs: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        compute(name, y, **kwargs)


def test_check_metric_lists_the_task_metrics_and_suggests_the_closest() -> None:
    with pytest.raises(InvalidInput, match=r"Unknown metric 'roc-auc'.*accuracy, .*Did you mean 'roc_auc'\?"):
        check_metric("roc-auc", "classification")
    with pytest.raises(InvalidInput, match="'rmse' is a regression metric, and this is a classification task"):
        check_metric("rmse", "classification")
    assert check_metric("r2", "regression") is METRICS["r2"]


def test_the_table_declares_every_metric() -> None:
    assert metric_names("regression") == ["mae", "mape", "r2", "rmse"]
    assert set(metric_names("classification")) == set(BINARY)
    assert [n for n, s in METRICS.items() if not s.greater_is_better] == ["log_loss", "brier", "mae", "rmse", "mape"]
    assert all(name == spec.name for name, spec in METRICS.items())
    with pytest.raises(InvalidInput, match="Unknown task 'ranking'"):
        metric_names("ranking")
