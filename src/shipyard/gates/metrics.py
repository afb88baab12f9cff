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
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from shipyard.core.errors import InvalidInput
from shipyard.gates._metric_inputs import FloatArray, Kernel, Prepare, one_dimensional, sample_weights
from shipyard.gates._metric_kernels import (
    accuracy,
    balanced_accuracy,
    brier,
    class_rate,
    log_loss,
    mae,
    mape,
    mcc,
    pr_auc,
    r2,
    rmse,
    roc_auc,
)

__all__ = [
    "METRICS",
    "TASKS",
    "FloatArray",
    "Kernel",
    "MetricSpec",
    "Prepare",
    "Task",
    "check_metric",
    "compute",
    "metric_names",
]

Task = Literal["classification", "regression"]
TASKS: tuple[Task, ...] = ("classification", "regression")


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
        truth = one_dimensional("y_true", y_true)
        kernel = self.prepare(truth, np.asarray(predictions))
        value = float(kernel(sample_weights(weights, len(truth))[np.newaxis, :])[0])
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


METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec("accuracy", "classification", "labels", True, accuracy, "the weights are all zero"),
        MetricSpec(
            "balanced_accuracy", "classification", "labels", True, balanced_accuracy, "the weights are all zero"
        ),
        MetricSpec(
            "precision",
            "classification",
            "labels",
            True,
            class_rate(lambda tp, true, pred: (tp, pred)),
            "no row is predicted positive, so precision is 0/0",
        ),
        MetricSpec(
            "recall",
            "classification",
            "labels",
            True,
            class_rate(lambda tp, true, pred: (tp, true)),
            "y_true has no positive row, so recall is 0/0",
        ),
        MetricSpec(
            "f1",
            "classification",
            "labels",
            True,
            class_rate(lambda tp, true, pred: (2 * tp, true + pred)),
            "no row is positive in y_true or in the predictions, so f1 is 0/0",
        ),
        MetricSpec("mcc", "classification", "labels", True, mcc, "the weights are all zero"),
        MetricSpec(
            "roc_auc",
            "classification",
            "scores",
            True,
            roc_auc,
            "y_true must hold both classes (every class, for several) to rank one above another",
        ),
        MetricSpec("pr_auc", "classification", "scores", True, pr_auc, "y_true has no positive row"),
        MetricSpec("log_loss", "classification", "scores", False, log_loss, "the weights are all zero"),
        MetricSpec("brier", "classification", "scores", False, brier, "the weights are all zero"),
        MetricSpec("mae", "regression", "labels", False, mae, "the weights are all zero"),
        MetricSpec("rmse", "regression", "labels", False, rmse, "the weights are all zero"),
        MetricSpec("mape", "regression", "labels", False, mape, "the weights are all zero"),
        MetricSpec("r2", "regression", "labels", True, r2, "y_true is constant, so there is no variance to explain"),
    )
}
