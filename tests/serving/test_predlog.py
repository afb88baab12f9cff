"""The prediction log: rows as documented, off the request path, and never the reason serving fails."""

from __future__ import annotations

import errno
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

import shipyard as sy
import shipyard.tracking.default
from shipyard.serving.predictions import read_feedback, read_predictions, to_ms
from shipyard.serving.predlog import PredictionLog, PredictionRecord


def record(request_id: str = "r1", at_ms: int = 1_000, version: int = 1, **inputs: list[Any]) -> PredictionRecord:
    inputs = inputs or {"tenure": [4]}
    rows = len(next(iter(inputs.values())))
    return PredictionRecord(request_id, at_ms, version, "champion", inputs, [0.5] * rows, 2.5)


def rows(client: sy.Client, **filters: Any) -> pa.Table:
    return read_predictions(client.backend, "p", "churn", **filters)


def test_a_request_becomes_one_log_row_per_input_row(client: sy.Client) -> None:
    log = PredictionLog(client.backend, "p", "churn")
    outputs = [0.9, 0.1]
    log.append(PredictionRecord("r1", 1_000, 3, "canary", {"tenure": [4, 30], "plan": ["a", "b"]}, outputs, 7.5))
    assert log.flush()
    table = rows(client)
    fixed = ["request_id", "row", "at", "version", "role", "latency_ms", "prediction"]
    assert table.column_names == [*fixed, "tenure", "plan"]
    assert table.to_pylist()[1] == {
        "request_id": "r1",
        "row": 1,
        "at": datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC),
        "version": 3,
        "role": "canary",
        "latency_ms": 7.5,
        "prediction": 0.1,
        "tenure": 30,
        "plan": "b",
    }
    assert (log.written_rows, log.dropped, log.write_errors) == (2, 0, 0)
    log.close()


def test_requests_of_one_row_each_keep_their_own_fields(client: sy.Client) -> None:
    with PredictionLog(client.backend, "p", "churn") as log:
        log.append(PredictionRecord("a", 1_000, 1, "champion", {"tenure": [4], "plan": ["x"]}, [0.9], 1.5, [0.8]))
        log.append(PredictionRecord("b", 2_000, 2, "canary", {"tenure": [5], "plan": ["y"]}, ["no"], 2.5))
    table = rows(client).sort_by("request_id")
    fields = ["request_id", "row", "version", "role", "latency_ms", "prediction", "score"]
    assert [tuple(row.values()) for row in table.select(fields).to_pylist()] == [
        ("a", 0, 1, "champion", 1.5, "0.9", 0.8),
        ("b", 0, 2, "canary", 2.5, "no", None),
    ]
    assert table.column("tenure").to_pylist() == [4, 5] and table.column("plan").to_pylist() == ["x", "y"]


def test_probabilities_are_json_and_clashing_inputs_are_renamed(client: sy.Client) -> None:
    with PredictionLog(client.backend, "p", "churn") as log:
        log.append(PredictionRecord("r1", 1_000, 1, "champion", {"version": ["x"]}, [[0.2, 0.8]], 1.0))
    table = rows(client)
    assert table.column("prediction").to_pylist() == ["[0.2, 0.8]"]
    assert table.column("input.version").to_pylist() == ["x"]


def test_since_and_until_keep_only_the_rows_in_between(client: sy.Client) -> None:
    with PredictionLog(client.backend, "p", "churn") as log:
        for at_ms in (1_000, 2_000, 3_000):
            log.append(record(f"r{at_ms}", at_ms))
            log.flush()
    assert rows(client, since_ms=2_000).column("request_id").to_pylist() == ["r2000", "r3000"]
    assert rows(client, since_ms=1_500, until_ms=3_000).column("request_id").to_pylist() == ["r2000"]
    assert rows(client, since_ms=4_000).num_rows == 0


def test_versions_with_different_inputs_read_as_one_table(client: sy.Client) -> None:
    with PredictionLog(client.backend, "p", "churn") as log:
        log.append(record("old", 1_000, version=1, tenure=[4]))
        log.flush()
        log.append(record("new", 2_000, version=2, tenure=[5], calls=[3]))
    assert rows(client).select(["version", "calls"]).to_pylist() == [
        {"version": 1, "calls": None},
        {"version": 2, "calls": 3},
    ]
    assert rows(client, version=2).column("request_id").to_pylist() == ["new"]
    assert rows(client, role="shadow").num_rows == 0


def test_requests_of_one_segment_may_differ_in_columns_and_in_kinds_of_values(client: sy.Client) -> None:
    import numpy as np

    with PredictionLog(client.backend, "p", "churn") as log:
        log.append(
            PredictionRecord(
                "a", 1_000, 1, "champion", {"tenure": np.array([4, 5]), "plan": ["x", "y"]}, np.array([1, 0]), 1.0
            )
        )
        log.append(PredictionRecord("b", 1_000, 1, "champion", {"plan": ["z"], "tenure": [6]}, [2**70], 1.0))
        log.append(PredictionRecord("c", 1_000, 1, "champion", {"tenure": [7]}, [True], 1.0))
    table = rows(client)
    assert table.column("request_id").to_pylist() == ["a", "a", "b", "c"]
    assert table.column("row").to_pylist() == [0, 1, 0, 0]
    assert table.column("tenure").to_pylist() == [4, 5, 6, 7] and table.schema.field("tenure").type == pa.int64()
    assert table.column("plan").to_pylist() == ["x", "y", "z", None]
    assert table.column("prediction").to_pylist() == [1.0, 0.0, float(2**70), 1.0]
    assert (log.written_rows, log.dropped) == (4, 0)


def stuck_writer(client: sy.Client, monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """(entered, release): the writer blocks in its first segment write until ``release`` is set."""
    entered, release = threading.Event(), threading.Event()
    adopt = client.backend.blobs.adopt_file

    def stuck(path: Any) -> tuple[str, int]:
        entered.set()
        release.wait(10)
        return adopt(path)

    monkeypatch.setattr(client.backend.blobs, "adopt_file", stuck)
    return entered, release


def test_a_full_queue_drops_and_counts_without_blocking(client: sy.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    entered, release = stuck_writer(client, monkeypatch)
    log = PredictionLog(client.backend, "p", "churn", max_queue=2, segment_rows=1)
    log.append(record("r0"))
    assert entered.wait(10)  # the writer holds r0 and cannot take more
    assert [log.append(record(f"r{i}")) for i in (1, 2, 3)] == [True, True, False]
    assert (log.depth, log.dropped) == (2, 1)
    release.set()
    assert log.close()
    assert rows(client).column("request_id").to_pylist() == ["r0", "r1", "r2"]


def test_the_queue_is_bounded_in_rows_too(client: sy.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request may hold thousands of rows: the rows waiting, not only the requests, bound the queue's memory."""
    entered, release = stuck_writer(client, monkeypatch)
    log = PredictionLog(client.backend, "p", "churn", max_queue_rows=3, segment_rows=1)
    log.append(record("r0", tenure=[1, 2, 3, 4]))  # larger than the bound alone: taken, as nothing waits
    assert entered.wait(10)
    appended = [log.append(record(f"r{i}", tenure=[1] * n)) for i, n in ((1, 2), (2, 2), (3, 1))]
    assert appended == [True, False, True]
    assert (log.depth, log.dropped) == (2, 1)
    release.set()
    assert log.close()
    assert sorted(set(rows(client).column("request_id").to_pylist())) == ["r0", "r1", "r3"]


def test_feedback_cannot_crowd_out_predictions(client: sy.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    entered, release = stuck_writer(client, monkeypatch)
    log = PredictionLog(client.backend, "p", "churn", max_queue=2, max_feedback_queue=3, segment_rows=1)
    log.append(record("r0"))
    assert entered.wait(10)  # the writer holds r0 and cannot take more
    assert [log.append_feedback(f"f{i}", 1.0) for i in range(4)] == [True, True, True, False]
    assert [log.append(record(f"r{i}")) for i in (1, 2, 3)] == [True, True, False]  # feedback took none of their room
    assert (log.depth, log.dropped) == (5, 2)
    release.set()
    assert log.close()
    assert rows(client).column("request_id").to_pylist() == ["r0", "r1", "r2"]
    assert read_feedback(client.backend, "p", "churn").column("request_id").to_pylist() == ["f0", "f1", "f2"]


def test_a_batch_of_feedback_is_taken_whole_or_not_at_all(client: sy.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    entered, release = stuck_writer(client, monkeypatch)
    log = PredictionLog(client.backend, "p", "churn", max_feedback_queue=3, segment_rows=1)
    log.append(record("r0"))
    assert entered.wait(10)
    assert log.append_feedback_items([("a", 1.0, 0), ("b", 0.0, None)]) is True
    assert log.append_feedback_items([("c", 1.0, 0), ("d", 0.0, 1)]) is False  # room for one only: none is taken
    assert (log.depth, log.dropped) == (2, 0)  # refused, not lost: the caller knows
    assert log.append_feedback_items([("c", 1.0, 0)]) is True
    release.set()
    assert log.close()
    table = read_feedback(client.backend, "p", "churn")
    assert table.select(["request_id", "label", "row"]).to_pylist() == [
        {"request_id": "a", "label": 1.0, "row": 0},
        {"request_id": "b", "label": 0.0, "row": None},
        {"request_id": "c", "label": 1.0, "row": 0},
    ]


@pytest.mark.parametrize("broken", ["artifact store", "metadata store"])
def test_a_failed_write_is_counted_and_the_log_goes_on(
    client: sy.Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, broken: str
) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.EROFS, "Read-only file system")

    target = client.backend.blobs if broken == "artifact store" else client.backend.predictions
    monkeypatch.setattr(target, "adopt_file" if broken == "artifact store" else "add_segment", fail)
    log = PredictionLog(client.backend, "p", "churn")
    with caplog.at_level(logging.WARNING, logger="shipyard.serving"):
        assert log.append(record("lost")) and log.flush()
    assert (log.write_errors, log.dropped) == (1, 1)
    assert "could not write a segment of 1 rows (OSError" in caplog.text
    monkeypatch.undo()
    log.append(record("kept"))
    assert log.close()
    assert rows(client).column("request_id").to_pylist() == ["kept"]


def test_a_malformed_record_is_dropped_alone(client: sy.Client) -> None:
    with PredictionLog(client.backend, "p", "churn") as log:
        log.append(PredictionRecord("bad", 1_000, 1, "champion", {"tenure": [1, 2]}, [0.5], 1.0))
        log.append(record("good"))
    assert rows(client).column("request_id").to_pylist() == ["good"]
    assert (log.dropped, log.write_errors) == (1, 0)


def test_close_writes_what_is_queued_and_later_appends_are_dropped(client: sy.Client) -> None:
    log = PredictionLog(client.backend, "p", "churn", segment_seconds=3600)
    for i in range(3):
        log.append(record(f"r{i}"))
    assert log.close() and log.close()
    assert rows(client).num_rows == 3
    assert log.append(record("late")) is False
    assert log.dropped == 1


def test_segments_rotate_by_rows(client: sy.Client) -> None:
    with PredictionLog(client.backend, "p", "churn", segment_rows=2, segment_seconds=3600) as log:
        for i in range(5):
            log.append(record(f"r{i}", 1_000 + i))
    segments = client.backend.predictions.segments("p", "churn", "predictions")
    assert [s.rows for s in segments] == [2, 2, 1]
    assert rows(client).num_rows == 5


def test_segments_rotate_by_bytes_too(client: sy.Client) -> None:
    """Wide inputs fill a segment's bytes before its rows: the buffer, and so the server's memory, stays bounded."""
    with PredictionLog(client.backend, "p", "churn", segment_bytes=1, segment_seconds=3600) as log:
        for i in range(1_030):  # records are turned into Arrow 512 at a time, then measured
            log.append(record(f"r{i}", 1_000 + i))
    segments = client.backend.predictions.segments("p", "churn", "predictions")
    assert [s.rows for s in segments] == [512, 512, 6]
    assert rows(client).column("request_id").to_pylist() == [f"r{i}" for i in range(1_030)]


def test_a_segment_is_written_when_its_oldest_row_is_due(client: sy.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    written = threading.Event()
    add = client.backend.predictions.add_segment

    def add_and_tell(*args: Any, **kwargs: Any) -> int:
        segment_id = add(*args, **kwargs)
        written.set()
        return segment_id

    monkeypatch.setattr(client.backend.predictions, "add_segment", add_and_tell)
    log = PredictionLog(client.backend, "p", "churn", segment_seconds=0.05)
    log.append(record())
    assert written.wait(10)  # no flush asked for
    log.close()


def test_feedback_round_trips(client: sy.Client) -> None:
    with PredictionLog(client.backend, "p", "churn") as log:
        log.append_feedback("r1", 1, at_ms=1_000)
        log.append_feedback("r2", 0.0, at_ms=2_000, row=3)
    table = read_feedback(client.backend, "p", "churn", since_ms=500)
    assert table.to_pylist()[1] == {
        "request_id": "r2",
        "at": datetime(1970, 1, 1, 0, 0, 2, tzinfo=UTC),
        "label": 0.0,
        "row": 3,
    }
    assert read_feedback(client.backend, "p", "churn").column("label").to_pylist() == [1.0, 0.0]


def test_the_facade_reads_the_default_client(client: sy.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shipyard.tracking.default, "_default", client)
    now = int(datetime.now(UTC).timestamp() * 1000)
    with PredictionLog(client.backend, "p", "churn") as log:
        log.append(record("old", now - 7_200_000))
        log.append(record("new", now))
        log.append_feedback("new", "yes")
    assert sy.predictions("churn", since=timedelta(hours=1), project="p").column("request_id").to_pylist() == ["new"]
    assert sy.feedback("churn", project="p").column("label").to_pylist() == ["yes"]
    with pytest.raises(sy.InvalidInput, match="version="):
        sy.predictions("churn@3", project="p")


def test_times_are_read_from_every_documented_form() -> None:
    assert to_ms("1970-01-01T00:00:02Z", "since") == 2_000
    assert to_ms(datetime(1970, 1, 1, 0, 0, 3, tzinfo=UTC), "since") == 3_000
    assert to_ms(4_000, "since") == 4_000
    with pytest.raises(sy.InvalidInput, match="'until' parameter must be a datetime"):
        to_ms(1.5, "until")  # type: ignore[arg-type]
    with pytest.raises(sy.InvalidInput, match="ISO 8601"):
        to_ms("yesterday", "since")


def test_times_and_versions_beyond_64_bits_are_refused_not_an_overflow(client: sy.Client) -> None:
    with PredictionLog(client.backend, "p", "churn") as log:
        log.append(record())
    for since in (10**20, -(10**20)):
        with pytest.raises(sy.InvalidInput, match=r"'since' parameter must be .* within 64 bits"):
            rows(client, since_ms=to_ms(since, "since"))
    with pytest.raises(sy.InvalidInput, match="'version' parameter must be a model version number"):
        rows(client, version=2**63)
    assert rows(client, since_ms=to_ms(2**63 - 1, "since")).num_rows == 0
