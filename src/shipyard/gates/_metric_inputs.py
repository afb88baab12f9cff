"""Checking a metric's inputs: one-dimensional, one value per row, finite numbers or class labels; InvalidInput
saying which. Also the array types every metric kernel is written in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

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


def one_dimensional(what: str, values: npt.ArrayLike) -> npt.NDArray[Any]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidInput(f"{what} must be one-dimensional (one value per row); got shape {array.shape}.")
    if len(array) == 0:
        raise InvalidInput(f"{what} is empty; a metric needs at least one row.")
    return array


def same_length(y_true: npt.NDArray[Any], other: npt.NDArray[Any], what: str) -> None:
    if other.ndim == 0:
        raise InvalidInput(f"{what} must hold one value per row; got the single value {other.item()!r}.")
    if other.shape[0] != y_true.shape[0]:
        raise InvalidInput(f"y_true has {y_true.shape[0]} rows but {what} has {other.shape[0]}; pass one per row.")


def sample_weights(weights: npt.ArrayLike | None, n: int) -> FloatArray:
    if weights is None:
        return np.ones(n)
    w = finite_floats("weights", one_dimensional("weights", weights))
    if len(w) != n:
        raise InvalidInput(f"weights has {len(w)} values for {n} rows; pass one per row.")
    if (w < 0).any() or w.sum() <= 0:
        raise InvalidInput("weights must be non-negative and not all zero.")
    return w


def finite_floats(what: str, values: npt.NDArray[Any]) -> FloatArray:
    try:
        floats = values.astype(np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} must be numbers; got values of type {values.dtype}.") from None
    if not np.isfinite(floats).all():
        raise InvalidInput(f"{what} contains missing (None or NaN) or infinite values.")
    return floats


def class_labels(what: str, values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Class labels as numbers or as strings (pandas hands strings over as Python objects)."""
    if values.dtype.kind == "O":
        if all(isinstance(v, str) for v in values):
            return values.astype(str)
        return finite_floats(what, values)
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise InvalidInput(f"{what} contains NaN or infinite labels.")
    if values.dtype.kind not in "biufUS":
        raise InvalidInput(f"{what} must hold class labels (numbers or strings); got values of type {values.dtype}.")
    return values


def label_pair(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """True and predicted labels, checked to be comparable."""
    y_pred = one_dimensional("labels", y_pred)
    same_length(y_true, y_pred, "labels")
    truth, predicted = class_labels("y_true", y_true), class_labels("labels", y_pred)
    if (truth.dtype.kind in "US") != (predicted.dtype.kind in "US"):
        raise InvalidInput(
            f"y_true holds {truth.dtype} labels but the predicted labels are {predicted.dtype}; "
            "they must be the same kind (both numbers or both strings) to be compared."
        )
    return truth, predicted


def encode(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], IntArray, IntArray]:
    """The sorted labels occurring in either array, and each array as indices into them."""
    truth, predicted = label_pair(y_true, y_pred)
    classes, codes = factorize(np.concatenate([truth, predicted]))
    return classes, codes[: len(truth)], codes[len(truth) :]


def factorize(values: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], IntArray]:
    """The sorted distinct values, and each value's index among them.

    This is ``np.unique(values, return_inverse=True)``, which argsorts all values; finding the few distinct
    ones first and then each value among them is several times faster.
    """
    classes = np.unique(values)
    codes: IntArray = np.searchsorted(classes, values)
    return classes, codes


def positive_code(classes: npt.NDArray[Any]) -> int:
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


def n_classes(y_true: npt.NDArray[Any]) -> int:
    return len(np.unique(class_labels("y_true", y_true)))


def binary_truth(y_true: npt.NDArray[Any], metric: str) -> BoolArray:
    classes, codes = factorize(class_labels("y_true", y_true))
    if len(classes) > 2:
        raise InvalidInput(f"{metric} is for binary classification; y_true holds {len(classes)} classes.")
    positive: BoolArray = codes == positive_code(classes)
    return positive


def positive_scores(y_true: npt.NDArray[Any], scores: npt.NDArray[Any], *, probabilities: bool) -> FloatArray:
    """The score of the positive class per row, from a 1-D array or an ``(n, 2)`` probability matrix."""
    same_length(y_true, scores, "scores")
    s = finite_floats("scores", scores)
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


def class_probabilities(y_true: npt.NDArray[Any], scores: npt.NDArray[Any]) -> tuple[IntArray, FloatArray]:
    """Class indices of ``y_true`` and its ``(n, k)`` probability matrix, columns in sorted-label order."""
    same_length(y_true, scores, "scores")
    classes, codes = factorize(class_labels("y_true", y_true))
    s = finite_floats("scores", scores)
    if s.ndim != 2 or s.shape[1] != len(classes):
        raise InvalidInput(
            f"y_true holds {len(classes)} classes, so scores must be an (n, {len(classes)}) probability matrix "
            f"(columns in sorted label order); got shape {s.shape}."
        )
    return codes, _probability_matrix(s)
