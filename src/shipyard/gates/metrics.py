"""Model-quality metrics, each written once as a function of per-row weights.

>>> compute("roc_auc", [0, 1, 1, 0], scores=[0.1, 0.8, 0.6, 0.3])
1.0

A metric is a :class:`MetricSpec`. Its ``prepare(y_true, predictions)`` validates the data and does, once, the
work that does not depend on weights (encoding labels, sorting scores), and returns a *kernel*: a function
from a ``(k, n)`` matrix of row weights to the ``k`` metric values. One kernel serves a plain evaluation (one
row of ones), user sample weights, and the bootstrap in :mod:`shipyard.gates.stats`, which evaluates it on
chunks of resample-count rows in one vectorised pass instead of a thousand metric calls.

Every value equals scikit-learn's (given the same ``sample_weight``) to 1e-9. Where sklearn warns, forces a
value or has no single answer, these are the decisions:

- **Positive class.** Binary metrics take the larger of the two labels as positive: 1 of 0/1, True of
  False, "yes" of "no", 2 of 1/2 (sklearn would default to 1 there). If only one label occurs at all, it
  counts as 0/1 data whose positive label is 1; a single other label raises, as nothing says which class
  is positive.
- **More than two labels.** precision, recall and f1 are macro averages over every label that occurs in
  ``y_true`` or the predictions, a class's own 0/0 counting as 0 (sklearn's ``zero_division=0``).
  balanced_accuracy averages the recall of the classes present in ``y_true``.
- **Undefined means an error.** Where the defining ratio is 0/0 on the data, :func:`compute` raises
  InvalidInput saying why, where sklearn warns and returns 0 or nan, or forces 1.0: roc_auc with one class
  in ``y_true``, binary precision with nothing predicted positive, recall and pr_auc with no positive row,
  f1 with neither, r2 with a constant ``y_true``. A kernel returns nan instead, so a bootstrap can leave
  out the resamples on which a metric is undefined.
- **mcc** is 0.0 when the truth or the predictions hold a single class, as in sklearn: the "no skill"
  value, which lets a degenerate candidate be compared rather than rejected with an error.
- **Scores.** A 1-D array is the score of the positive class (any real for roc_auc and pr_auc, a
  probability for log_loss and brier). An ``(n, k)`` matrix holds class probabilities in the order of the
  sorted labels, as ``predict_proba`` gives them (entries in [0, 1], rows summing to 1); binary metrics use
  its second column. log_loss clips probabilities to [eps, 1 − eps] like sklearn, and with 0/1 labels and a
  1-D probability it is defined even when ``y_true`` holds one class (sklearn needs ``labels=[0, 1]``).
- **mape** is a fraction (0.1 means 10 %), like sklearn's; a zero in ``y_true`` raises, where sklearn would
  divide by machine epsilon and report an astronomically large error.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from shipyard.core.errors import InvalidInput

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.intp]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
Kernel: TypeAlias = Callable[[FloatArray], FloatArray]
"""Maps a ``(k, n)`` matrix of row weights to the metric under each of the ``k`` weightings (nan: undefined)."""
Prepare: TypeAlias = Callable[[npt.NDArray[Any], npt.NDArray[Any]], Kernel]
"""Validates ``(y_true, predictions)`` and returns the kernel of a metric on them."""
Task = Literal["classification", "regression"]
TASKS: tuple[Task, ...] = ("classification", "regression")

_EPS = float(np.finfo(np.float64).eps)
# Cells of a dense one-hot matrix (rows × confusion-matrix cells) worth one BLAS product; beyond this
# (many classes), counts are summed over rows sorted by cell instead, which needs no n × cells memory.
_DENSE_CELLS = 4_000_000


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its task, what it is computed from, which direction is better, and its kernel factory."""

    name: str
    task: Task
    needs: Literal["labels", "scores"]
    greater_is_better: bool
    prepare: Prepare
    undefined: str  # when the metric has no value, in words, for the error message

    def compute(self, y_true: npt.ArrayLike, predictions: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> float:
        """The metric of ``predictions`` (labels or scores, as :attr:`needs` says) against ``y_true``."""
        truth = _one_dimensional("y_true", y_true)
        kernel = self.prepare(truth, np.asarray(predictions))
        value = float(kernel(_sample_weights(weights, len(truth))[np.newaxis, :])[0])
        if np.isnan(value):
            raise InvalidInput(f"{self.name} is undefined on this data: {self.undefined}.")
        return value


def compute(
    name: str,
    y_true: npt.ArrayLike,
    *,
    labels: npt.ArrayLike | None = None,
    scores: npt.ArrayLike | None = None,
    weights: npt.ArrayLike | None = None,
) -> float:
    """The metric ``name`` on ``y_true`` and predicted ``labels`` or ``scores``, optionally weighted per row.

    Pass whichever predictions the metric needs (``METRICS[name].needs``); the other may be given too and is
    ignored, so a caller evaluating several metrics can pass both every time. Regression metrics take the
    predicted values as ``labels``. Raises InvalidInput if the data does not fit the metric or the metric is
    undefined on it (see the module docstring).
    """
    spec = check_metric(name)
    predictions = labels if spec.needs == "labels" else scores
    if predictions is None:
        hint = "predicted class labels (labels=…)" if spec.needs == "labels" else "scores or probabilities (scores=…)"
        raise InvalidInput(f"{name} needs {hint}; none were given.")
    return spec.compute(y_true, predictions, weights)


def metric_names(task: str | None = None) -> list[str]:
    """The names of the metrics for ``task`` ("classification" or "regression"), or of all, sorted."""
    if task is not None and task not in TASKS:
        raise InvalidInput(f"Unknown task {task!r}; expected one of {', '.join(TASKS)}.")
    return sorted(name for name, spec in METRICS.items() if task is None or spec.task == task)


def check_metric(name: str, task: str | None = None) -> MetricSpec:
    """The spec of metric ``name``; InvalidInput, listing the valid names, if it is unknown or not for ``task``."""
    valid = metric_names(task)
    spec = METRICS.get(name)
    if spec is not None and name in valid:
        return spec
    if spec is not None:
        problem = f"{name!r} is a {spec.task} metric, and this is a {task} task"
    else:
        problem = f"Unknown metric {name!r}"
    close = difflib.get_close_matches(name.lower().replace("-", "_").replace(" ", "_"), valid, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    kind = f"{task} metrics" if task else "metrics"
    raise InvalidInput(f"{problem}. Valid {kind}: {', '.join(valid)}.{hint}")


# --- input checks --------------------------------------------------------------------------------------------


def _one_dimensional(what: str, values: npt.ArrayLike) -> npt.NDArray[Any]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidInput(f"{what} must be one-dimensional (one value per row); got shape {array.shape}.")
    if len(array) == 0:
        raise InvalidInput(f"{what} is empty; a metric needs at least one row.")
    return array


def _same_length(y_true: npt.NDArray[Any], other: npt.NDArray[Any], what: str) -> None:
    if other.ndim == 0:
        raise InvalidInput(f"{what} must hold one value per row; got the single value {other.item()!r}.")
    if other.shape[0] != y_true.shape[0]:
        raise InvalidInput(f"y_true has {y_true.shape[0]} rows but {what} has {other.shape[0]}; pass one per row.")


def _sample_weights(weights: npt.ArrayLike | None, n: int) -> FloatArray:
    if weights is None:
        return np.ones(n)
    w = _finite_floats("weights", _one_dimensional("weights", weights))
    if len(w) != n:
        raise InvalidInput(f"weights has {len(w)} values for {n} rows; pass one per row.")
    if (w < 0).any() or w.sum() <= 0:
        raise InvalidInput("weights must be non-negative and not all zero.")
    return w


def _finite_floats(what: str, values: npt.NDArray[Any]) -> FloatArray:
    try:
        floats = values.astype(np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} must be numbers; got values of type {values.dtype}.") from None
    if not np.isfinite(floats).all():
        raise InvalidInput(f"{what} contains missing (None or NaN) or infinite values.")
    return floats


def _labels(what: str, values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Class labels as numbers or as strings (pandas hands strings over as Python objects)."""
    if values.dtype.kind == "O":
        if all(isinstance(v, str) for v in values):
            return values.astype(str)
        return _finite_floats(what, values)
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise InvalidInput(f"{what} contains NaN or infinite labels.")
    if values.dtype.kind not in "biufUS":
        raise InvalidInput(f"{what} must hold class labels (numbers or strings); got values of type {values.dtype}.")
    return values


def _label_pair(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """True and predicted labels, checked to be comparable."""
    y_pred = _one_dimensional("labels", y_pred)
    _same_length(y_true, y_pred, "labels")
    truth, predicted = _labels("y_true", y_true), _labels("labels", y_pred)
    if (truth.dtype.kind in "US") != (predicted.dtype.kind in "US"):
        raise InvalidInput(
            f"y_true holds {truth.dtype} labels but the predicted labels are {predicted.dtype}; "
            "they must be the same kind (both numbers or both strings) to be compared."
        )
    return truth, predicted


def _encode(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], IntArray, IntArray]:
    """The sorted labels occurring in either array, and each array as indices into them."""
    truth, predicted = _label_pair(y_true, y_pred)
    classes, codes = _factorize(np.concatenate([truth, predicted]))
    return classes, codes[: len(truth)], codes[len(truth) :]


def _factorize(values: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], IntArray]:
    """The sorted distinct values, and each value's index among them.

    This is ``np.unique(values, return_inverse=True)``, which argsorts all values; finding the few distinct
    ones first and then each value among them is several times faster.
    """
    classes = np.unique(values)
    codes: IntArray = np.searchsorted(classes, values)
    return classes, codes


def _positive_code(classes: npt.NDArray[Any]) -> int:
    """Index of the positive class among the ≤ 2 sorted ``classes``; ``len(classes)`` if it does not occur."""
    if len(classes) == 2:
        return 1
    only = classes[0]
    if classes.dtype.kind not in "US" and only in (0, 1):
        return 0 if only == 1 else 1
    raise InvalidInput(
        f"Only the label {only!r} occurs, so which class is positive is unknown; a binary metric needs both "
        "classes, or 0/1 labels (1 is positive)."
    )


def _n_classes(y_true: npt.NDArray[Any]) -> int:
    return len(np.unique(_labels("y_true", y_true)))


def _binary_truth(y_true: npt.NDArray[Any], metric: str) -> BoolArray:
    classes, codes = _factorize(_labels("y_true", y_true))
    if len(classes) > 2:
        raise InvalidInput(f"{metric} is for binary classification; y_true holds {len(classes)} classes.")
    positive: BoolArray = codes == _positive_code(classes)
    return positive


def _positive_scores(y_true: npt.NDArray[Any], scores: npt.NDArray[Any], *, probabilities: bool) -> FloatArray:
    """The score of the positive class per row, from a 1-D array or an ``(n, 2)`` probability matrix."""
    _same_length(y_true, scores, "scores")
    s = _finite_floats("scores", scores)
    if s.ndim == 2 and s.shape[1] == 2:
        return _probability_matrix(s)[:, 1]
    if s.ndim != 1:
        raise InvalidInput(f"a binary metric needs one score per row or an (n, 2) probability matrix; got {s.shape}.")
    if probabilities and ((s < 0).any() or (s > 1).any()):
        raise InvalidInput("scores must be probabilities of the positive class, in [0, 1].")
    return s


def _probability_matrix(s: FloatArray) -> FloatArray:
    if (s < 0).any() or (s > 1).any() or not np.allclose(s.sum(axis=1), 1.0, rtol=0, atol=1e-6):
        raise InvalidInput("a score matrix must hold class probabilities: entries in [0, 1], each row summing to 1.")
    return s


def _class_probabilities(y_true: npt.NDArray[Any], scores: npt.NDArray[Any]) -> tuple[IntArray, FloatArray]:
    """Class indices of ``y_true`` and its ``(n, k)`` probability matrix, columns in sorted-label order."""
    _same_length(y_true, scores, "scores")
    classes, codes = _factorize(_labels("y_true", y_true))
    s = _finite_floats("scores", scores)
    if s.ndim != 2 or s.shape[1] != len(classes):
        raise InvalidInput(
            f"y_true holds {len(classes)} classes, so scores must be an (n, {len(classes)}) probability matrix "
            f"(columns in sorted label order); got shape {s.shape}."
        )
    return codes, _probability_matrix(s)


# --- building blocks ------------------------------------------------------------------------------------------


def _weighted_mean(values: FloatArray) -> Kernel:
    return lambda w: (w @ values) / w.sum(axis=1)


def _ratio(numerator: FloatArray, denominator: FloatArray, undefined: float) -> FloatArray:
    """``numerator / denominator``, with ``undefined`` where the denominator is zero."""
    out = np.full(np.broadcast(numerator, denominator).shape, undefined)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _confusion(truth: IntArray, predicted: IntArray, k: int) -> Callable[[FloatArray], FloatArray]:
    """A function from weights ``(m, n)`` to weighted confusion matrices ``(m, k, k)`` (true × predicted)."""
    cells, size = truth * k + predicted, k * k
    if len(cells) * size <= _DENSE_CELLS:
        onehot = np.zeros((len(cells), size))
        onehot[np.arange(len(cells)), cells] = 1.0
        return lambda w: (w @ onehot).reshape(-1, k, k)
    order = np.argsort(cells, kind="stable")
    present, starts = np.unique(cells[order], return_index=True)

    def by_sorting(w: FloatArray) -> FloatArray:
        out = np.zeros((w.shape[0], size))
        out[:, present] = np.add.reduceat(np.take(w, order, axis=1), starts, axis=1)
        return out.reshape(-1, k, k)

    return by_sorting


def _tie_starts(sorted_scores: FloatArray) -> IntArray | None:
    """Where each run of equal scores begins, or None when all differ (the common case, with a faster path)."""
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    return None if len(starts) == len(sorted_scores) else starts


# --- classification from labels -------------------------------------------------------------------------------


def _accuracy(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> Kernel:
    truth, predicted = _label_pair(y_true, y_pred)
    return _weighted_mean((truth == predicted).astype(np.float64))


def _balanced_accuracy(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> Kernel:
    classes, truth, predicted = _encode(y_true, y_pred)
    confusion = _confusion(truth, predicted, len(classes))

    def kernel(w: FloatArray) -> FloatArray:
        c = confusion(w)
        support = c.sum(axis=2)
        present = support > 0  # classes only ever predicted, never true, have no recall to average
        recall = _ratio(np.diagonal(c, axis1=1, axis2=2), support, 0.0)
        mean: FloatArray = recall.sum(axis=1) / present.sum(axis=1)
        return mean

    return kernel


def _class_rate(rate: Callable[[FloatArray, FloatArray, FloatArray], tuple[FloatArray, FloatArray]]) -> Prepare:
    """precision, recall or f1 from ``rate(tp, true, predicted) -> (numerator, denominator)`` per class."""

    def prepare(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> Kernel:
        classes, truth, predicted = _encode(y_true, y_pred)
        confusion = _confusion(truth, predicted, len(classes))
        binary = len(classes) <= 2
        positive = _positive_code(classes) if binary else 0

        def kernel(w: FloatArray) -> FloatArray:
            c = confusion(w)
            tp, true, pred = np.diagonal(c, axis1=1, axis2=2), c.sum(axis=2), c.sum(axis=1)
            numerator, denominator = rate(tp, true, pred)
            if binary:
                if positive == len(classes):  # 0/1 data in which the positive label 1 never occurs
                    return np.full(len(w), np.nan)
                return _ratio(numerator[:, positive], denominator[:, positive], np.nan)
            macro: FloatArray = _ratio(numerator, denominator, 0.0).mean(axis=1)
            return macro

        return kernel

    return prepare


def _mcc(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> Kernel:
    classes, truth, predicted = _encode(y_true, y_pred)
    confusion = _confusion(truth, predicted, len(classes))

    def kernel(w: FloatArray) -> FloatArray:
        # Gorodkin's multiclass form, which is sklearn's and reduces to the usual one for two classes.
        c = confusion(w)
        true, pred = c.sum(axis=2), c.sum(axis=1)
        total = pred.sum(axis=1)
        correct = np.trace(c, axis1=1, axis2=2)
        cov_tp = correct * total - (true * pred).sum(axis=1)
        cov_pp = total**2 - (pred**2).sum(axis=1)
        cov_tt = total**2 - (true**2).sum(axis=1)
        return _ratio(cov_tp, np.sqrt(np.maximum(cov_pp * cov_tt, 0.0)), 0.0)

    return kernel


# --- classification from scores -------------------------------------------------------------------------------


def _binary_auc(positive: BoolArray, scores: FloatArray) -> Kernel:
    """The weighted Mann-Whitney statistic: the share of (positive, negative) pairs the scores rank correctly.

    A positive wins against each negative scored lower and half-wins against each tied one. With the rows
    sorted by score once, the negatives below each row are a cumulative sum: O(n) per weighting.
    """
    order = np.argsort(scores, kind="stable")
    pos = positive[order].astype(np.float64)
    neg = 1.0 - pos
    starts = _tie_starts(scores[order])

    def kernel(w: FloatArray) -> FloatArray:
        ranked = np.take(w, order, axis=1)
        if starts is None:
            # No ties: at a positive row the running negative weight is exactly the negatives below it. This
            # branch does in place what the general one below does, and is twice as fast on large data.
            below = ranked * neg
            np.cumsum(below, axis=1, out=below)
            negatives = below[:, -1].copy()
            below *= ranked
            wins, positives = below @ pos, ranked @ pos
        else:
            # Rows with one score form one group (one step of the ROC curve); ties within it count half.
            w_pos = np.add.reduceat(ranked * pos, starts, axis=1)
            w_neg = np.add.reduceat(ranked * neg, starts, axis=1)
            below = np.cumsum(w_neg, axis=1)
            negatives = below[:, -1].copy()
            below -= 0.5 * w_neg
            wins, positives = np.einsum("ij,ij->i", w_pos, below), w_pos.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            result: FloatArray = wins / (positives * negatives)
        return result

    return kernel


def _roc_auc(y_true: npt.NDArray[Any], scores: npt.NDArray[Any]) -> Kernel:
    if _n_classes(y_true) <= 2:
        return _binary_auc(_binary_truth(y_true, "roc_auc"), _positive_scores(y_true, scores, probabilities=False))
    codes, probabilities = _class_probabilities(y_true, scores)
    # One-vs-rest, macro: each class against all others, unweighted mean over classes.
    per_class = [_binary_auc(codes == k, probabilities[:, k]) for k in range(probabilities.shape[1])]
    return lambda w: np.mean([kernel(w) for kernel in per_class], axis=0)


def _pr_auc(y_true: npt.NDArray[Any], scores: npt.NDArray[Any]) -> Kernel:
    positive = _binary_truth(y_true, "pr_auc")
    s = _positive_scores(y_true, scores, probabilities=False)
    order = np.argsort(-s, kind="stable")  # best first: each distinct score is a threshold
    pos = positive[order].astype(np.float64)
    starts = _tie_starts(s[order])

    def kernel(w: FloatArray) -> FloatArray:
        ranked = np.take(w, order, axis=1)
        w_pos = ranked * pos
        if starts is not None:
            w_pos = np.add.reduceat(w_pos, starts, axis=1)
            ranked = np.add.reduceat(ranked, starts, axis=1)
        hits = np.cumsum(w_pos, axis=1)
        # Average precision: the precision at each threshold, weighted by the recall the threshold adds.
        precision = _ratio(hits, np.cumsum(ranked, axis=1), 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            result: FloatArray = np.einsum("ij,ij->i", w_pos, precision) / hits[:, -1]
        return result

    return kernel


def _log_loss(y_true: npt.NDArray[Any], scores: npt.NDArray[Any]) -> Kernel:
    if _n_classes(y_true) <= 2:
        positive = _binary_truth(y_true, "log_loss")
        p = _positive_scores(y_true, scores, probabilities=True)
        p_true = np.where(positive, p, 1.0 - p)
    else:
        codes, probabilities = _class_probabilities(y_true, scores)
        p_true = probabilities[np.arange(len(codes)), codes]
    return _weighted_mean(-np.log(np.clip(p_true, _EPS, 1.0 - _EPS)))


def _brier(y_true: npt.NDArray[Any], scores: npt.NDArray[Any]) -> Kernel:
    positive = _binary_truth(y_true, "brier")
    p = _positive_scores(y_true, scores, probabilities=True)
    return _weighted_mean((positive - p) ** 2)


# --- regression -----------------------------------------------------------------------------------------------


def _pair(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> tuple[FloatArray, FloatArray]:
    predicted = _one_dimensional("labels (the predicted values)", y_pred)
    _same_length(y_true, predicted, "the predictions")
    return _finite_floats("y_true", y_true), _finite_floats("the predictions", predicted)


def _mae(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> Kernel:
    y, p = _pair(y_true, y_pred)
    return _weighted_mean(np.abs(y - p))


def _rmse(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> Kernel:
    y, p = _pair(y_true, y_pred)
    mse = _weighted_mean((y - p) ** 2)
    return lambda w: np.sqrt(mse(w))


def _mape(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> Kernel:
    y, p = _pair(y_true, y_pred)
    if (y == 0).any():
        raise InvalidInput(
            f"mape is undefined where y_true is 0 ({int((y == 0).sum())} rows): the error relative to zero is "
            "infinite. Use mae or rmse for such targets."
        )
    return _weighted_mean(np.abs(y - p) / np.maximum(np.abs(y), _EPS))


def _r2(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> Kernel:
    y, p = _pair(y_true, y_pred)
    squared_error = (y - p) ** 2
    # The variance term is shift-invariant; centring first keeps it from cancelling away when y has a large mean.
    centred = y - y.mean()
    squared = centred**2

    def kernel(w: FloatArray) -> FloatArray:
        total = w @ squared - (w @ centred) ** 2 / w.sum(axis=1)
        # A constant y_true (under these weights) leaves only rounding noise in ``total``: undefined, not huge.
        spread = np.where(total > 1e-12 * (w @ squared), total, 0.0)
        return 1.0 - _ratio(w @ squared_error, spread, np.nan)

    return kernel


METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec("accuracy", "classification", "labels", True, _accuracy, "the weights are all zero"),
        MetricSpec(
            "balanced_accuracy", "classification", "labels", True, _balanced_accuracy, "the weights are all zero"
        ),
        MetricSpec(
            "precision",
            "classification",
            "labels",
            True,
            _class_rate(lambda tp, true, pred: (tp, pred)),
            "no row is predicted positive, so precision is 0/0",
        ),
        MetricSpec(
            "recall",
            "classification",
            "labels",
            True,
            _class_rate(lambda tp, true, pred: (tp, true)),
            "y_true has no positive row, so recall is 0/0",
        ),
        MetricSpec(
            "f1",
            "classification",
            "labels",
            True,
            _class_rate(lambda tp, true, pred: (2 * tp, true + pred)),
            "no row is positive in y_true or in the predictions, so f1 is 0/0",
        ),
        MetricSpec("mcc", "classification", "labels", True, _mcc, "the weights are all zero"),
        MetricSpec(
            "roc_auc",
            "classification",
            "scores",
            True,
            _roc_auc,
            "y_true must hold both classes (every class, for several) to rank one above another",
        ),
        MetricSpec("pr_auc", "classification", "scores", True, _pr_auc, "y_true has no positive row"),
        MetricSpec("log_loss", "classification", "scores", False, _log_loss, "the weights are all zero"),
        MetricSpec("brier", "classification", "scores", False, _brier, "the weights are all zero"),
        MetricSpec("mae", "regression", "labels", False, _mae, "the weights are all zero"),
        MetricSpec("rmse", "regression", "labels", False, _rmse, "the weights are all zero"),
        MetricSpec("mape", "regression", "labels", False, _mape, "the weights are all zero"),
        MetricSpec("r2", "regression", "labels", True, _r2, "y_true is constant, so there is no variance to explain"),
    )
}
