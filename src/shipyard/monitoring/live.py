"""Live performance: a model metric on the logged predictions whose ground truth has arrived.

>>> live_metric("accuracy", predictions, feedback, min_labels=50)
LiveMetric(metric='accuracy', value=0.91, labels=240, unknown_feedback=3, status='ok', reason=None)

``predictions`` holds rows of the prediction log (``request_id``, ``row``, ``prediction``, and ``score`` for
metrics computed from scores) of *one* model: filter a log that mixes roles (champion, canary, shadow) or
versions first, since each shares the request ids. ``feedback`` holds rows of the feedback log
(``request_id``, ``label``, ``row``, optionally ``at``): a label with a ``row`` is for that row of the request,
one whose ``row`` is null for every row of it.

Joining: a prediction row takes the latest label that applies to it (by ``at`` when the feedback has it,
else by position in ``feedback``; a row's own label and its request's label compete on the same footing).
Feedback that matches no prediction row (an unknown ``request_id``, or a ``row`` the request does not have)
is counted in ``unknown_feedback`` and ignored; null labels, and rows whose prediction or score is null,
are left out. With fewer than ``min_labels`` labelled rows, or when the metric is undefined on them (e.g.
roc_auc when every label is the same class), the status is ``insufficient_data`` and the value ``None``.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from shipyard.core.errors import InvalidInput
from shipyard.gates.metrics import check_metric, compute

__all__ = ["LiveMetric", "labelled", "live_metric"]

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class LiveMetric:
    """A metric on the window's labelled predictions; ``reason`` says why there is no value, if there is none."""

    metric: str
    value: float | None
    labels: int
    unknown_feedback: int
    status: str
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def live_metric(
    metric: str, predictions: pa.Table, feedback: pa.Table, *, min_labels: int = 50, task: str | None = None
) -> LiveMetric:
    """``metric`` (a name of ``shipyard.gates.metrics``) on the predictions joined to their feedback.

    ``task`` ("classification" or "regression") restricts the metric names. Raises InvalidInput for a
    missing column, a bad ``min_labels``, or a metric that needs scores when the log has no ``score`` column.
    """
    spec = check_metric(metric, task)
    if isinstance(min_labels, bool) or not isinstance(min_labels, numbers.Integral) or min_labels < 1:
        raise InvalidInput(f"min_labels must be a positive whole number; got {min_labels!r}.")
    y_true, predicted, unknown = _labelled(metric, predictions, feedback, task)
    count = len(y_true)
    if count < min_labels:
        reason = f"{count} labelled predictions, fewer than min_labels={min_labels}"
        return LiveMetric(metric, None, count, unknown, "insufficient_data", reason)
    try:
        value = compute(metric, y_true, labels=predicted, scores=predicted)
    except InvalidInput as exc:
        # No value, rather than an error, when the labels so far cannot support the metric: gates.metrics
        # says "undefined on this data" (a 0/0), or every label is one class (no positive class to rank).
        one_class = spec.task == "classification" and len(np.unique(y_true.astype(str))) < 2
        if not one_class and "undefined on this data" not in str(exc):
            raise
        return LiveMetric(metric, None, count, unknown, "insufficient_data", str(exc))
    return LiveMetric(metric, value, count, unknown, "ok")


def labelled(
    metric: str, predictions: pa.Table, feedback: pa.Table, *, task: str | None = None
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """The labels of the labelled prediction rows and their outputs, joined as ``live_metric`` joins them.

    The outputs are what ``metric`` is computed from: the ``score`` column for metrics on scores, else
    ``prediction``. Either table may be empty (then both arrays are). For comparing two models on the same
    feedback, e.g. a canary and the champion.
    """
    truth, outputs, _ = _labelled(metric, predictions, feedback, task)
    return truth, outputs


def _labelled(
    metric: str, predictions: pa.Table, feedback: pa.Table, task: str | None
) -> tuple[npt.NDArray[Any], npt.NDArray[Any], int]:
    """Labels, outputs, and the number of feedback rows that matched no prediction row."""
    spec = check_metric(metric, task)
    output = "score" if spec.needs == "scores" else "prediction"
    for what, table in (("predictions", predictions), ("feedback", feedback)):
        if not isinstance(table, pa.Table):
            raise InvalidInput(f"{what} must be a pyarrow Table (rows of the log); got {type(table).__name__}.")
    if feedback.num_rows:
        _require("feedback", feedback, ("request_id", "label"))
    if predictions.num_rows:
        _require("predictions", predictions, ("request_id", "row", "prediction"))
        if output not in predictions.column_names:
            raise InvalidInput(
                f"{metric} is computed from scores, but the prediction log holds labels only (no 'score' "
                "column). Log the model's scores or probabilities as 'score', or pick a metric computed from "
                "labels, such as accuracy or f1."
            )
    if not feedback.num_rows:
        return np.empty(0), np.empty(0), 0
    given = int(feedback.column("label").is_valid().to_numpy(zero_copy_only=False).sum())
    if not predictions.num_rows:
        return np.empty(0), np.empty(0), given
    rows, labels, matched = _join(predictions, feedback)
    outputs = predictions.column(output).take(pa.array(rows))
    truth = feedback.column("label").take(pa.array(labels))
    usable = pc.and_(outputs.is_valid(), truth.is_valid())
    outputs, truth = outputs.filter(usable), truth.filter(usable)
    scores = _scores(outputs) if output == "score" else outputs.to_numpy(zero_copy_only=False)
    return truth.to_numpy(zero_copy_only=False), scores, given - len(matched)


def _require(what: str, table: object, names: tuple[str, ...]) -> None:
    if not isinstance(table, pa.Table):
        raise InvalidInput(f"{what} must be a pyarrow Table (rows of the log); got {type(table).__name__}.")
    missing = [n for n in names if n not in table.column_names]
    if missing:
        raise InvalidInput(
            f"{what} lacks the columns {', '.join(map(repr, missing))}; it needs {', '.join(names)} "
            f"(it has {', '.join(table.column_names) or 'none'})."
        )


def _join(predictions: pa.Table, feedback: pa.Table) -> tuple[I64, I64, I64]:
    """For each labelled prediction row, its index in ``predictions`` and that of its label in ``feedback``;
    and the distinct feedback rows (with a label) that matched some prediction row."""
    keys = pa.table(
        {
            "request_id": predictions.column("request_id").cast(pa.large_string()),
            "row": predictions.column("row").cast(pa.int64()),
            "_p": np.arange(predictions.num_rows, dtype=np.int64),
        }
    )
    pairs = keys.group_by(["request_id", "row"]).aggregate([])
    if pairs.num_rows != keys.num_rows:
        raise InvalidInput(
            f"predictions hold {keys.num_rows - pairs.num_rows} repeated (request_id, row) pairs, so labels "
            "cannot be matched to one prediction each; filter the log to one model (role and version) first."
        )
    row = (
        feedback.column("row").cast(pa.int64())
        if "row" in feedback.column_names
        else pa.nulls(feedback.num_rows, pa.int64())
    )
    labels = pa.table(
        {
            "request_id": feedback.column("request_id").cast(pa.large_string()),
            "row": row,
            "_f": np.arange(feedback.num_rows, dtype=np.int64),
        }
    ).filter(feedback.column("label").is_valid())
    for_row = labels.filter(row.is_valid().take(labels.column("_f"))).join(
        keys, ["request_id", "row"], join_type="inner"
    )
    for_request = (
        labels.filter(row.is_null().take(labels.column("_f")))
        .drop_columns(["row"])
        .join(keys, "request_id", join_type="inner")
    )
    p = np.concatenate([for_row.column("_p").to_numpy(), for_request.column("_p").to_numpy()]).astype(np.int64)
    f = np.concatenate([for_row.column("_f").to_numpy(), for_request.column("_f").to_numpy()]).astype(np.int64)
    # The latest label wins: order by prediction row, then by when the label came; keep each row's last.
    order = np.lexsort((_arrival(feedback)[f], p))
    p, f = p[order], f[order]
    last = np.append(p[1:] != p[:-1], True) if len(p) else np.zeros(0, dtype=bool)
    return p[last], f[last], np.unique(f)


def _arrival(feedback: pa.Table) -> I64:
    """Each feedback row's rank in arrival order: by ``at`` if given (nulls first), then by position."""
    if "at" not in feedback.column_names:
        return np.arange(feedback.num_rows, dtype=np.int64)
    at = feedback.column("at")
    if not (pa.types.is_timestamp(at.type) or pa.types.is_date(at.type) or pa.types.is_integer(at.type)):
        raise InvalidInput(f"feedback's 'at' column must hold timestamps; it holds {at.type}.")
    ticks = at.cast(pa.int64()).to_numpy(zero_copy_only=False)  # nulls become NaN
    ticks = np.where(np.isnan(ticks), -np.inf, ticks) if ticks.dtype.kind == "f" else ticks  # nulls first
    # np.lexsort sorts by its last key first: by time, ties in the order the feedback lists them.
    order = np.lexsort((np.arange(feedback.num_rows), ticks))
    rank = np.empty(feedback.num_rows, dtype=np.int64)
    rank[order] = np.arange(feedback.num_rows)
    return rank


def _scores(outputs: pa.ChunkedArray) -> npt.NDArray[Any]:
    """Scores as numbers: one per row, or a row of class probabilities (a list column) per row."""
    if pa.types.is_floating(outputs.type) or pa.types.is_integer(outputs.type):
        numbers_: npt.NDArray[Any] = outputs.to_numpy()
        return numbers_
    if (
        pa.types.is_list(outputs.type)
        or pa.types.is_large_list(outputs.type)
        or pa.types.is_fixed_size_list(outputs.type)
    ):
        return np.array(outputs.to_pylist(), dtype=np.float64)
    raise InvalidInput(
        f"The 'score' column must hold numbers, or lists of class probabilities; it holds {outputs.type}."
    )
