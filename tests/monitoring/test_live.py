"""Live metrics join feedback to predictions by request id and row, latest label first, unknown ones counted."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from shipyard.core.errors import InvalidInput
from shipyard.monitoring.live import LiveMetric, labelled, live_metric


def predictions(requests: int = 100, rows: int = 2, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    score = rng.random(requests * rows)
    return pa.table(
        {
            "request_id": np.repeat([f"r{i}" for i in range(requests)], rows),
            "row": np.tile(np.arange(rows), requests),
            "prediction": (score > 0.5).astype(np.float64),
            "score": score,
        }
    )


def feedback(
    request_id: list[str], label: list[float], row: list[int | None] | None = None, **extra: object
) -> pa.Table:
    rows = row if row is not None else [None] * len(request_id)
    return pa.table({"request_id": request_id, "label": label, "row": pa.array(rows, pa.int64()), **extra})


def test_a_label_for_a_row_joins_that_row_and_one_for_a_request_joins_all_its_rows() -> None:
    preds = predictions(requests=3)
    result = live_metric("accuracy", preds, feedback(["r0", "r1"], [1.0, 0.0], [1, None]), min_labels=1)
    labelled = {1: 1.0, 2: 0.0, 3: 0.0}  # r0 row 1; r1 rows 0 and 1
    expected = accuracy_score(list(labelled.values()), preds["prediction"].to_numpy()[list(labelled)])
    assert result == LiveMetric("accuracy", expected, 3, 0, "ok")


def test_feedback_matching_no_prediction_row_is_counted_and_ignored() -> None:
    labels = feedback(["r0", "ghost", "r1", "r2"], [1.0, 1.0, 0.0, 1.0], [0, None, 7, 0])
    result = live_metric("accuracy", predictions(requests=3), labels, min_labels=1)
    assert (result.labels, result.unknown_feedback) == (2, 2)  # "ghost", and row 7 of r1


def test_the_latest_label_wins_by_arrival_time_or_else_by_position() -> None:
    preds = pa.table({"request_id": ["a"], "row": [0], "prediction": [1.0]})
    by_position = feedback(["a", "a", "a"], [0.0, 0.0, 1.0], [0, None, 0])
    assert live_metric("accuracy", preds, by_position, min_labels=1).value == 1.0
    at = pa.array([3, 1, 2], pa.timestamp("ms", tz="UTC"))
    by_time = feedback(["a", "a", "a"], [0.0, 1.0, 1.0], [0, 0, None], at=at)
    assert live_metric("accuracy", preds, by_time, min_labels=1) == LiveMetric("accuracy", 0.0, 1, 0, "ok")


def test_fewer_labels_than_min_labels_is_insufficient_data() -> None:
    result = live_metric("accuracy", predictions(), feedback([f"r{i}" for i in range(20)], [1.0] * 20), min_labels=50)
    assert (result.status, result.value, result.labels) == ("insufficient_data", None, 40)
    assert result.reason == "40 labelled predictions, fewer than min_labels=50"


def test_roc_auc_uses_the_score_column() -> None:
    preds = predictions(requests=200, rows=1)
    truth = (preds["score"].to_numpy() + np.random.default_rng(1).normal(0, 0.3, 200) > 0.5).astype(np.float64)
    result = live_metric("roc_auc", preds, feedback([f"r{i}" for i in range(200)], list(truth)), task="classification")
    assert result.status == "ok" and result.value == pytest.approx(roc_auc_score(truth, preds["score"].to_numpy()))


def test_roc_auc_on_a_log_without_scores_is_invalid_input() -> None:
    preds = predictions().drop_columns(["score"])
    with pytest.raises(InvalidInput, match="roc_auc is computed from scores, but the prediction log holds labels only"):
        live_metric("roc_auc", preds, feedback(["r0"], [1.0]))


def test_roc_auc_when_every_label_is_one_class_has_no_value_yet() -> None:
    result = live_metric("roc_auc", predictions(), feedback([f"r{i}" for i in range(60)], [1.0] * 60))
    assert (result.status, result.value, result.labels) == ("insufficient_data", None, 120)
    assert result.reason is not None and "roc_auc is undefined on this data" in result.reason


def test_bad_arguments_are_invalid_input() -> None:
    labels = feedback(["r0"], [1.0])
    with pytest.raises(InvalidInput, match=r"Unknown metric 'acuracy'.*Did you mean 'accuracy'"):
        live_metric("acuracy", predictions(), labels)
    with pytest.raises(InvalidInput, match="'rmse' is a regression metric"):
        live_metric("rmse", predictions(), labels, task="classification")
    with pytest.raises(InvalidInput, match="min_labels must be a positive whole number; got 0"):
        live_metric("accuracy", predictions(), labels, min_labels=0)
    with pytest.raises(InvalidInput, match="feedback lacks the columns 'label'"):
        live_metric("accuracy", predictions(), labels.drop_columns(["label"]))


def test_predictions_mixing_models_are_refused() -> None:
    preds = predictions(requests=2)
    twice = pa.concat_tables([preds, preds])  # e.g. champion and shadow rows of the same requests
    with pytest.raises(InvalidInput, match=r"4 repeated \(request_id, row\) pairs.*filter the log to one model"):
        live_metric("accuracy", twice, feedback(["r0"], [1.0]))


def test_string_labels_and_predictions() -> None:
    preds = pa.table({"request_id": ["a", "b", "c"], "row": [0, 0, 0], "prediction": ["yes", "no", "no"]})
    result = live_metric("accuracy", preds, feedback(["a", "b", "c"], ["yes", "yes", "no"]), min_labels=3)
    assert result.value == pytest.approx(2 / 3)


def test_labelled_gives_the_joined_labels_and_the_outputs_the_metric_needs() -> None:
    preds = predictions(requests=3)
    labels = feedback(["r0", "r2", "r2"], [1.0, 0.0, 1.0], [None, 1, 1])
    truth, scores = labelled("roc_auc", preds, labels)
    np.testing.assert_array_equal(truth, [1.0, 1.0, 1.0])  # r0's two rows, then r2 row 1's latest label
    np.testing.assert_array_equal(scores, preds["score"].to_numpy()[[0, 1, 5]])
    empty = labelled("accuracy", preds.slice(0, 0), labels)
    assert (len(empty[0]), len(empty[1])) == (0, 0)
