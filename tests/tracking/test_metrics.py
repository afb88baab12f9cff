import math
import threading
import time

import pytest

import shipyard as sy
from shipyard.core.entities import Metric, RunStatus


def test_history_reads_back_in_step_order(client: sy.Client) -> None:
    with client.start_run() as run:
        for step in (3, 1, 2, 0):
            run.log_metric("loss", step / 10, step=step)
    history = client.get_metric_history(run.id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.0), (1, 0.1), (2, 0.2), (3, 0.3)]


def test_steps_default_to_one_past_the_last(client: sy.Client) -> None:
    with client.start_run() as run:
        run.log_metric("loss", 1.0, step=5)
        run.log_metric("loss", 0.5)
        run.log_metrics({"loss": 0.4, "acc": 0.9})
    assert [m.step for m in client.get_metric_history(run.id, "loss")] == [5, 6, 7]
    assert [m.step for m in client.get_metric_history(run.id, "acc")] == [0]


def test_nan_and_infinities_are_stored_faithfully(client: sy.Client) -> None:
    with client.start_run() as run:
        run.log_batch(metrics=[("x", math.nan, 0), ("x", math.inf, 1), ("x", -math.inf, 2), ("x", 7, 3)])
    values = [m.value for m in client.get_metric_history(run.id, "x")]
    assert math.isnan(values[0])
    assert values[1:] == [math.inf, -math.inf, 7.0]
    assert client.get_run(run.id).metrics["x"] == 7.0


def test_latest_value_is_the_highest_step_not_the_last_logged(client: sy.Client) -> None:
    with client.start_run() as run:
        run.log_metric("auc", 0.9, step=10)
        run.flush()
        run.log_metric("auc", 0.5, step=2)
    assert client.get_run(run.id).metrics == {"auc": 0.9}


@pytest.mark.parametrize("value", ["0.5", None, True, [1.0], object()])
def test_non_numbers_are_invalid_input(client: sy.Client, value: object) -> None:
    with client.start_run() as run, pytest.raises(sy.InvalidInput, match="must be a number"):
        run.log_metric("auc", value)  # type: ignore[arg-type]
    assert client.get_metric_history(run.id, "auc") == []


@pytest.mark.parametrize("step", [1.5, "3", 2**63])
def test_bad_steps_are_invalid_input(client: sy.Client, step: object) -> None:
    with client.start_run() as run, pytest.raises(sy.InvalidInput, match="64-bit integer"):
        run.log_metric("auc", 0.1, step=step)  # type: ignore[arg-type]


def test_a_bad_point_in_a_batch_writes_nothing(client: sy.Client) -> None:
    with client.start_run() as run, pytest.raises(sy.InvalidInput):
        run.log_batch(metrics=[("a", 1.0, 0), ("b", "oops", 0)], params={"p": 1})  # type: ignore[list-item]
    assert client.get_run(run.id).params == {}
    assert client.get_metric_history(run.id, "a") == []


def test_batch_accepts_metric_records_and_short_tuples(client: sy.Client) -> None:
    with client.start_run() as run:
        run.log_batch(metrics=[Metric("a", 1.0, 4, 1000), ("a", 2.0), ("b", 3.0, 9)])
    a = client.get_metric_history(run.id, "a")
    assert [(m.step, m.value) for m in a] == [(4, 1.0), (5, 2.0)]
    assert a[0].timestamp == 1000
    assert [m.step for m in client.get_metric_history(run.id, "b")] == [9]


def test_flush_makes_points_visible_to_another_client(client: sy.Client, store_settings: dict[str, str]) -> None:
    reader = sy.Client(store_settings["uri"], artifacts=store_settings["artifacts"], capture_environment=False)
    with client.start_run() as run:
        for step in range(250):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        run.flush()
        assert len(reader.get_metric_history(run.id, "loss")) == 250
    reader.close()


def test_points_past_the_buffer_size_are_written_without_flush(store_settings: dict[str, str]) -> None:
    small = sy.Client(
        store_settings["uri"],
        artifacts=store_settings["artifacts"],
        capture_environment=False,
        flush_max_points=10,
        flush_interval=3600,
    )
    with small.start_run() as run:
        for step in range(25):
            run.log_metric("loss", 0.5, step=step)
        assert len(small.get_metric_history(run.id, "loss")) == 20
    small.close()


def test_history_of_an_unknown_run_is_not_found(client: sy.Client) -> None:
    with pytest.raises(sy.NotFound, match="No run with id"):
        client.get_metric_history("0" * 32, "loss")


def test_the_background_thread_writes_without_an_explicit_flush(store_settings: dict[str, str]) -> None:
    eager = sy.Client(
        store_settings["uri"], artifacts=store_settings["artifacts"], capture_environment=False, flush_interval=0.05
    )
    run = eager.start_run()
    for step in range(5):
        run.log_metric("loss", 0.5, step=step)
    deadline = time.monotonic() + 30
    while len(eager.get_metric_history(run.id, "loss")) < 5:  # waits for an event, bounded; never sleeps blind
        assert time.monotonic() < deadline, "the background flush never happened"
        threading.Event().wait(0.01)
    run.end()
    eager.close()


# One bad point must never poison a run (hostile tries 4.9–4.12) ------------------------------------


@pytest.mark.parametrize("timestamp", [2**70, 2**63, -(2**63) - 1], ids=["2**70", "2**63", "-2**63-1"])
def test_a_timestamp_beyond_64_bits_is_refused_at_the_call(client: sy.Client, timestamp: int) -> None:
    with client.start_run() as run:
        run.log_metric("x", 1.0, step=0)
        with pytest.raises(sy.InvalidInput, match=r"timestamp for metric 'x' must be milliseconds since the epoch"):
            run.log_metric("x", 2.0, step=1, timestamp=timestamp)
        run.log_metric("x", 3.0, step=2)
    assert [m.value for m in client.get_metric_history(run.id, "x")] == [1.0, 3.0]
    assert client.get_run(run.id).status is RunStatus.FINISHED


@pytest.mark.parametrize("timestamp", ["now", 1.5, 1000.0, True])
def test_a_timestamp_that_is_not_an_integer_names_the_timestamp(client: sy.Client, timestamp: object) -> None:
    with client.start_run() as run, pytest.raises(sy.InvalidInput, match="timestamp for metric 's'") as caught:
        run.log_metric("s", 1.0, timestamp=timestamp)  # type: ignore[arg-type]
    assert "step" not in str(caught.value)


def test_the_default_step_after_the_largest_step_is_refused(client: sy.Client) -> None:
    with client.start_run() as run:
        run.log_metric("k", 1.0, step=2**63 - 1)
        with pytest.raises(sy.InvalidInput, match=r"no next step.*pass step="):
            run.log_metric("k", 2.0)
        with pytest.raises(sy.InvalidInput, match="no next step"):
            run.log_metrics({"k": 2.0})
        with pytest.raises(sy.InvalidInput, match="no next step"):
            run.log_batch(metrics=[("k", 2.0)])
        run.log_metric("k", 3.0, step=0)
    assert [m.step for m in client.get_metric_history(run.id, "k")] == [0, 2**63 - 1]
    assert client.get_run(run.id).status is RunStatus.FINISHED


@pytest.mark.parametrize("value", [10**400, -(10**400)], ids=["10**400", "-10**400"])
def test_an_int_too_large_for_a_float_is_invalid_input(client: sy.Client, value: int) -> None:
    with client.start_run() as run, pytest.raises(sy.InvalidInput, match="too large for a float"):
        run.log_metric("m", value)
    assert client.get_metric_history(run.id, "m") == []


def test_a_bad_timestamp_in_a_batch_writes_nothing(client: sy.Client) -> None:
    with client.start_run() as run, pytest.raises(sy.InvalidInput, match="timestamp for metric 'b'"):
        run.log_batch(metrics=[("a", 1.0, 0, 1000), ("b", 1.0, 0, 2**70)])
    assert client.get_metric_history(run.id, "a") == []


def test_log_metrics_checks_every_value_before_buffering_any(client: sy.Client) -> None:
    with client.start_run() as run:
        with pytest.raises(sy.InvalidInput, match="'b' must be a number"):
            run.log_metrics({"a": 1.0, "b": "oops"})  # type: ignore[dict-item]
        with pytest.raises(sy.InvalidInput, match="timestamp"):
            run.log_metrics({"a": 1.0}, timestamp=2**70)
        run.log_metrics({"a": 2.0})
    assert [(m.step, m.value) for m in client.get_metric_history(run.id, "a")] == [(0, 2.0)]


def test_the_store_refuses_an_out_of_range_point_with_invalid_input(client: sy.Client) -> None:
    run = client.start_run()
    # Locally the store names the metric; over HTTP the request's reader refuses the integer first.
    with pytest.raises(sy.InvalidInput, match=r"1180591620717411303424"):
        client.backend.store.write(run.id, metrics_=[("ok", 1.0, 0, 0), ("x", 1.0, 0, 2**70)])
    assert client.get_metric_history(run.id, "ok") == []
    run.end()


def test_a_point_the_store_refuses_is_set_aside_and_the_others_are_written(client: sy.Client) -> None:
    run = client.start_run()
    run.log_metric("good", 1.0, step=0)
    run._buffer.append(("x", 1.0, 0, 2**70))  # as if it had slipped past the checks at the call
    run.log_metric("good", 2.0, step=1)
    with pytest.raises(sy.InvalidInput, match=r"1 metric point of run \w+ could not be stored.*'x', step 0"):
        run.flush()
    assert [m.value for m in client.get_metric_history(run.id, "good")] == [1.0, 2.0]
    run.log_metric("good", 3.0, step=2)
    run.flush()  # the refusal was reported once; later points are written as usual
    assert len(client.get_metric_history(run.id, "good")) == 3
    with pytest.raises(sy.InvalidInput, match=r"ended failed, not finished.*'x', step 0"):
        run.end()
    assert client.get_run(run.id).status is RunStatus.FAILED


def test_a_refusal_in_the_background_is_reported_by_the_next_flush(client: sy.Client) -> None:
    run = client.start_run()
    run._buffer.append(("x", 1.0, 0, 2**70))
    run.log_metric("good", 1.0)
    run._flush_quietly()  # what the background thread does
    assert len(client.get_metric_history(run.id, "good")) == 1
    with pytest.raises(sy.InvalidInput, match="could not be stored"):
        run.flush()
    with pytest.raises(sy.InvalidInput, match="ended failed"):
        run.end()


def test_a_store_that_cannot_be_reached_at_the_end_leaves_the_run_open(
    client: sy.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = client.start_run()
    run.log_metric("loss", 0.5)

    def unreachable(*args: object, **kwargs: object) -> None:
        raise sy.StoreError("The metadata store could not be used: connection refused.")

    with monkeypatch.context() as patch:
        patch.setattr(client.backend.store, "write", unreachable)
        with pytest.raises(sy.StoreError, match="connection refused"):
            run.end()
    assert client.get_run(run.id).status is RunStatus.RUNNING
    run.end()  # the store is back: the buffered point is written and the run finishes
    assert [m.value for m in client.get_metric_history(run.id, "loss")] == [0.5]
    assert client.get_run(run.id).status is RunStatus.FINISHED


def test_a_refusal_is_reported_by_flush_not_by_a_batch_that_writes_on_the_way(client: sy.Client) -> None:
    run = client.start_run()
    run._buffer.append(("x", 1.0, 0, 2**70))
    run.log_batch(metrics=[("b", 1.0, 0)])  # writes the buffer first; the batch is not at fault
    assert len(client.get_metric_history(run.id, "b")) == 1
    with pytest.raises(sy.InvalidInput, match="could not be stored"):
        run.flush()
    with pytest.raises(sy.InvalidInput, match="ended failed"):
        run.end()


def test_a_chart_reads_a_long_history_downsampled_with_its_spike(client: sy.Client) -> None:
    with client.start_run() as run:
        run.log_batch(metrics=[("loss", 1.0 / (1 + s), s) for s in range(3_000)])
        run.log_metric("loss", 40.0, step=1_234)
    chart = client.get_metric_history(run.id, "loss", max_points=100)
    assert len(chart) <= 100 and (chart[0].step, chart[-1].step) == (0, 2_999)
    assert [(m.step, m.value) for m in chart if m.value == max(c.value for c in chart)] == [(1_234, 40.0)]
    assert client.get_metric_history(run.id, "loss", max_points=10_000) == client.get_metric_history(run.id, "loss")


def test_the_facade_passes_max_points_to_the_default_client(client: sy.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from shipyard.tracking import default

    monkeypatch.setattr(default, "_default", client)
    with client.start_run() as run:
        run.log_batch(metrics=[("loss", float(s % 7), s) for s in range(50)])
    assert len(sy.get_metric_history(run.id, "loss", max_points=10)) <= 10
    with pytest.raises(sy.InvalidInput, match="max_points"):
        sy.get_metric_history(run.id, "loss", max_points=1)
