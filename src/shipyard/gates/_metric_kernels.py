"""The metrics' kernel factories: each validates its data once and returns a function of per-row weights.

See ``shipyard.gates.metrics`` for what a kernel is and the decisions each metric makes where scikit-learn
warns or forces a value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from shipyard.core.errors import InvalidInput
from shipyard.gates._metric_inputs import (
    BoolArray,
    FloatArray,
    IntArray,
    Kernel,
    Prepare,
    binary_truth,
    class_probabilities,
    encode,
    finite_floats,
    label_pair,
    n_classes,
    one_dimensional,
    positive_code,
    positive_scores,
    same_length,
)

_EPS = float(np.finfo(np.float64).eps)
# Cells of a dense one-hot matrix (rows × confusion-matrix cells) worth one BLAS product; beyond this
# (many classes), counts are summed over rows sorted by cell instead, which needs no n × cells memory.
_DENSE_CELLS = 4_000_000


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


def accuracy(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> Kernel:
    truth, predicted = label_pair(y_true, y_pred)
    return _weighted_mean((truth == predicted).astype(np.float64))


def balanced_accuracy(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> Kernel:
    classes, truth, predicted = encode(y_true, y_pred)
    confusion = _confusion(truth, predicted, len(classes))

    def kernel(w: FloatArray) -> FloatArray:
        c = confusion(w)
        support = c.sum(axis=2)
        present = support > 0  # classes only ever predicted, never true, have no recall to average
        recall = _ratio(np.diagonal(c, axis1=1, axis2=2), support, 0.0)
        mean: FloatArray = recall.sum(axis=1) / present.sum(axis=1)
        return mean

    return kernel


def class_rate(rate: Callable[[FloatArray, FloatArray, FloatArray], tuple[FloatArray, FloatArray]]) -> Prepare:
    """precision, recall or f1 from ``rate(tp, true, predicted) -> (numerator, denominator)`` per class."""

    def prepare(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> Kernel:
        classes, truth, predicted = encode(y_true, y_pred)
        confusion = _confusion(truth, predicted, len(classes))
        binary = len(classes) <= 2
        positive = positive_code(classes) if binary else 0

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


def mcc(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> Kernel:
    classes, truth, predicted = encode(y_true, y_pred)
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


def roc_auc(y_true: npt.NDArray[Any], scores: npt.NDArray[Any]) -> Kernel:
    if n_classes(y_true) <= 2:
        return _binary_auc(binary_truth(y_true, "roc_auc"), positive_scores(y_true, scores, probabilities=False))
    codes, probabilities = class_probabilities(y_true, scores)
    # One-vs-rest, macro: each class against all others, unweighted mean over classes.
    per_class = [_binary_auc(codes == k, probabilities[:, k]) for k in range(probabilities.shape[1])]
    return lambda w: np.mean([kernel(w) for kernel in per_class], axis=0)


def pr_auc(y_true: npt.NDArray[Any], scores: npt.NDArray[Any]) -> Kernel:
    positive = binary_truth(y_true, "pr_auc")
    s = positive_scores(y_true, scores, probabilities=False)
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


def log_loss(y_true: npt.NDArray[Any], scores: npt.NDArray[Any]) -> Kernel:
    if n_classes(y_true) <= 2:
        positive = binary_truth(y_true, "log_loss")
        p = positive_scores(y_true, scores, probabilities=True)
        p_true = np.where(positive, p, 1.0 - p)
    else:
        codes, probabilities = class_probabilities(y_true, scores)
        p_true = probabilities[np.arange(len(codes)), codes]
    return _weighted_mean(-np.log(np.clip(p_true, _EPS, 1.0 - _EPS)))


def brier(y_true: npt.NDArray[Any], scores: npt.NDArray[Any]) -> Kernel:
    positive = binary_truth(y_true, "brier")
    p = positive_scores(y_true, scores, probabilities=True)
    return _weighted_mean((positive - p) ** 2)


# --- regression -----------------------------------------------------------------------------------------------


def _pair(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> tuple[FloatArray, FloatArray]:
    predicted = one_dimensional("labels (the predicted values)", y_pred)
    same_length(y_true, predicted, "the predictions")
    return finite_floats("y_true", y_true), finite_floats("the predictions", predicted)


def mae(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> Kernel:
    y, p = _pair(y_true, y_pred)
    return _weighted_mean(np.abs(y - p))


def rmse(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> Kernel:
    y, p = _pair(y_true, y_pred)
    mse = _weighted_mean((y - p) ** 2)
    return lambda w: np.sqrt(mse(w))


def mape(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> Kernel:
    y, p = _pair(y_true, y_pred)
    if (y == 0).any():
        raise InvalidInput(
            f"mape is undefined where y_true is 0 ({int((y == 0).sum())} rows): the error relative to zero is "
            "infinite. Use mae or rmse for such targets."
        )
    return _weighted_mean(np.abs(y - p) / np.maximum(np.abs(y), _EPS))


def r2(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> Kernel:
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
