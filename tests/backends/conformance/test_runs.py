"""Runs: lifecycle, writes, reads, search and its page tokens, deletion and purge."""

from __future__ import annotations

import math

import pytest

from shipyard.backends import Backend
from shipyard.core.entities import Metric, RunArtifact, RunStatus
from shipyard.core.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from tests.backends.conformance.conftest import digest, new_run, server_of


def test_a_created_run_reads_back_running_with_its_tags(backend: Backend) -> None:
    made = new_run(backend, tags_={"team": "risk"}, environment={"python": "3.11"})
    got = backend.store.get_run(made.id)
    assert (got.project, got.name, got.status, got.tags) == ("default", "run", RunStatus.RUNNING, {"team": "risk"})
    assert got.environment == {"python": "3.11"} and backend.store.list_projects() == ["default"]


def test_a_child_needs_an_existing_parent(backend: Backend) -> None:
    parent = new_run(backend)
    assert new_run(backend, parent_id=parent.id).parent_id == parent.id
    with pytest.raises(NotFound, match="nope"):
        new_run(backend, parent_id="nope")


def test_an_unknown_run_is_not_found_everywhere(backend: Backend) -> None:
    for read in (
        lambda: backend.store.get_run("nope"),
        lambda: backend.store.get_metric_history("nope", "auc"),
        lambda: backend.store.list_artifacts("nope"),
        lambda: backend.store.resume_run("nope", pid=1),
        lambda: backend.store.end_run("nope", RunStatus.FINISHED),
        lambda: backend.store.write("nope", params_={"a": "1"}),
        lambda: backend.store.delete_run("nope"),
        lambda: backend.store.restore_run("nope"),
    ):
        with pytest.raises(NotFound, match="nope"):
            read()


def test_writes_land_together_and_params_are_immutable(backend: Backend) -> None:
    run = new_run(backend)
    points = [("auc", 0.5, 0, 1), ("auc", 0.7, 1, 2), ("loss", math.nan, 0, 1)]
    backend.store.write(run.id, metrics_=points, params_={"lr": "0.1"}, tags_={"stage": "a"})
    backend.store.write(run.id, params_={"lr": "0.1"}, tags_={"stage": "b"})  # the same value again is fine
    with pytest.raises(Conflict, match="immutable"):
        backend.store.write(run.id, params_={"lr": "0.2"}, tags_={"stage": "c"})
    got = backend.store.get_run(run.id)
    assert (got.params, got.tags["stage"], got.metrics["auc"]) == ({"lr": "0.1"}, "b", 0.7)
    assert math.isnan(got.metrics["loss"])
    assert backend.store.get_metric_history(run.id, "auc") == [Metric("auc", 0.5, 0, 1), Metric("auc", 0.7, 1, 2)]
    assert backend.store.next_steps(run.id) == {"auc": 2, "loss": 1}


def test_a_point_the_store_cannot_hold_writes_nothing(backend: Backend) -> None:
    run = new_run(backend)
    with pytest.raises(InvalidInput):
        backend.store.write(run.id, metrics_=[("auc", 0.5, 0, 1), ("auc", 0.6, 2**70, 1)], params_={"a": "1"})
    assert backend.store.get_metric_history(run.id, "auc") == [] and backend.store.get_run(run.id).params == {}


def test_an_ended_run_takes_no_writes_until_resumed(backend: Backend) -> None:
    run = new_run(backend)
    with pytest.raises(InvalidInput, match="not running"):
        backend.store.end_run(run.id, RunStatus.RUNNING)
    backend.store.end_run(run.id, RunStatus.FINISHED)
    assert backend.store.get_run(run.id).status is RunStatus.FINISHED
    for write in (
        lambda: backend.store.write(run.id, tags_={"a": "1"}),
        lambda: backend.store.add_artifacts(run.id, [RunArtifact("a.txt", digest(), 1)]),
        lambda: backend.store.end_run(run.id, RunStatus.FAILED),
    ):
        with pytest.raises(Conflict, match="ended"):
            write()
    assert backend.store.resume_run(run.id, pid=0).status is RunStatus.RUNNING
    backend.store.write(run.id, tags_={"a": "1"})


def test_a_heartbeat_keeps_running_runs_alive_and_ignores_others(backend: Backend) -> None:
    alive, ended = new_run(backend), new_run(backend)
    backend.store.end_run(ended.id, RunStatus.FINISHED)
    backend.store.heartbeat([alive.id, ended.id, "nope"])
    backend.store.heartbeat([])
    assert [backend.store.get_run(r.id).status for r in (alive, ended)] == [RunStatus.RUNNING, RunStatus.FINISHED]


def test_artifacts_are_listed_by_path_and_prefix_and_a_path_is_replaced(backend: Backend) -> None:
    run = new_run(backend)
    first, second, model = digest(), digest(), digest()
    backend.store.add_artifacts(run.id, [RunArtifact("plots/roc.png", first, 3), RunArtifact("model.bin", model, 9)])
    backend.store.add_artifacts(run.id, [RunArtifact("plots/roc.png", second, 4)])
    backend.store.add_artifacts(run.id, [])
    assert backend.store.list_artifacts(run.id) == [
        RunArtifact("model.bin", model, 9),
        RunArtifact("plots/roc.png", second, 4),
    ]
    assert backend.store.list_artifacts(run.id, "plots") == [RunArtifact("plots/roc.png", second, 4)]
    assert backend.store.list_artifacts(run.id, "plot") == []
    assert {model, second} <= backend.store.referenced_digests() and first not in backend.store.referenced_digests()


def test_search_filters_orders_and_pages_without_loss(backend: Backend) -> None:
    made = [new_run(backend) for _ in range(5)]
    for i, run in enumerate(made):
        backend.store.write(run.id, metrics_=[("auc", i / 10, 0, 1)])
    new_run(backend, project="other")
    seen, token = [], None
    while True:
        page = backend.store.search_runs("default", max_results=2, page_token=token)
        seen += [r.id for r in page]
        token = page.next_page_token
        if token is None:
            break
    assert sorted(seen) == sorted(r.id for r in made) and len(seen) == 5
    best = backend.store.search_runs("default", filter="metrics.auc >= 0.2", order_by=["metrics.auc DESC"])
    assert [r.id for r in best] == [r.id for r in reversed(made[2:])]


def test_search_refuses_bad_input_with_specific_errors(backend: Backend) -> None:
    new_run(backend)
    with pytest.raises(NotFound, match="ghost"):
        backend.store.search_runs("ghost")
    with pytest.raises(InvalidInput, match="max_results"):
        backend.store.search_runs("default", max_results=0)
    with pytest.raises(InvalidInput):
        backend.store.search_runs("default", page_token="not a token")
    with pytest.raises(InvalidInput):
        backend.store.search_runs("default", filter="metrics.auc >>> 1")


def test_a_page_token_of_the_default_order_does_not_continue_another_order(backend: Backend) -> None:
    for _ in range(3):
        new_run(backend)
    token = backend.store.search_runs("default", max_results=1).next_page_token
    with pytest.raises(InvalidInput, match="order_by"):
        backend.store.search_runs("default", order_by=["attributes.start_time"], page_token=token)


def test_deleted_runs_hide_restore_and_purge_with_what_they_hold(backend: Backend) -> None:
    kept, gone = new_run(backend), new_run(backend)
    blob = digest()
    backend.store.add_artifacts(gone.id, [RunArtifact("a.txt", blob, 1)])
    backend.store.delete_run(kept.id, actor="tester")
    backend.store.restore_run(kept.id, actor="tester")
    backend.store.delete_run(gone.id, actor="tester")
    backend.store.delete_run(gone.id, actor="tester")  # again: a no-op
    assert [r.id for r in backend.store.search_runs("default")] == [kept.id]
    assert backend.store.get_run(gone.id).deleted
    assert backend.store.purgeable_runs(0) == []  # deleted after the epoch, so not before it
    far = 2**62
    assert backend.store.purgeable_runs(far) == [gone.id]
    assert blob not in backend.store.referenced_digests(excluding_runs=[gone.id])
    assert backend.store.purge_deleted_runs(far, actor="tester") == [gone.id]
    with pytest.raises(NotFound):
        backend.store.get_run(gone.id)
    assert backend.store.purge_deleted_runs(far) == [] and blob not in backend.store.referenced_digests()


def test_a_deleted_run_is_restored_before_it_resumes(backend: Backend) -> None:
    run = new_run(backend)
    backend.store.end_run(run.id, RunStatus.FINISHED)
    backend.store.delete_run(run.id)
    with pytest.raises(Conflict, match="restore"):
        backend.store.resume_run(run.id, pid=0)


def _history(backend: Backend, values: list[float], steps: list[int] | None = None) -> str:
    run = new_run(backend)
    steps = list(range(len(values))) if steps is None else steps
    backend.store.write(run.id, metrics_=[("loss", v, s, 1000 + s) for v, s in zip(values, steps, strict=True)])
    return run.id


def test_a_downsampled_history_no_longer_than_max_points_is_every_point(backend: Backend) -> None:
    run_id = _history(backend, [0.5, math.nan, 0.25, 0.75])
    whole = backend.store.get_metric_history(run_id, "loss")
    sampled = backend.store.get_metric_history(run_id, "loss", max_points=4)
    assert len(sampled) == 4 and [(m.step, m.timestamp) for m in sampled] == [(m.step, m.timestamp) for m in whole]
    assert math.isnan(sampled[1].value) and backend.store.get_metric_history(run_id, "other", max_points=4) == []


def test_a_downsampled_history_keeps_first_last_and_every_buckets_extremes(backend: Backend) -> None:
    # 1,000 points at steps 0, 3, 6, ...: a spike up and a dip down that a chart must show, NaN in between.
    values = [1.0 / (1 + i) for i in range(1000)]
    values[400], values[401], values[700], values[10] = 50.0, -3.0, math.nan, 0.5
    steps = [3 * i for i in range(1000)]
    run_id = _history(backend, values, steps)
    sampled = backend.store.get_metric_history(run_id, "loss", max_points=22)  # 10 buckets of 300 steps
    assert len(sampled) <= 22 and sampled[0] == Metric("loss", 1.0, 0, 1000)
    assert sampled[-1] == Metric("loss", values[-1], 2997, 1000 + 2997)
    assert [m.step for m in sampled] == sorted(m.step for m in sampled)
    logged = {(m.step, m.timestamp, m.value) for m in backend.store.get_metric_history(run_id, "loss")}
    assert all((m.step, m.timestamp, m.value) in logged for m in sampled)  # only real points
    for bucket in range(10):  # per bucket of 300 steps: its lowest and highest (NaN ignored) are there
        inside = [(v, s) for v, s in zip(values, steps, strict=True) if bucket * 300 <= s < (bucket + 1) * 300]
        finite = [(v, s) for v, s in inside if not math.isnan(v)]
        for value, step in (min(finite), max(finite)):
            assert Metric("loss", value, step, 1000 + step) in sampled, (bucket, value, step)
    assert {Metric("loss", 50.0, 1200, 2200), Metric("loss", -3.0, 1203, 2203)} <= set(sampled)


def test_a_downsampled_history_picks_one_point_among_equal_extremes(backend: Backend) -> None:
    run = new_run(backend)
    flat = [("loss", 2.0, s, 5) for s in range(50)] + [("loss", 2.0, 7, 4), ("loss", 2.0, 49, 9)]
    backend.store.write(run.id, metrics_=flat)
    sampled = backend.store.get_metric_history(run.id, "loss", max_points=6)  # 2 buckets: steps 0-24, 25-49
    assert sampled == [Metric("loss", 2.0, 0, 5), Metric("loss", 2.0, 25, 5), Metric("loss", 2.0, 49, 9)]
    ends = backend.store.get_metric_history(run.id, "loss", max_points=2)
    assert ends == [Metric("loss", 2.0, 0, 5), Metric("loss", 2.0, 49, 9)]


def test_a_downsampled_history_spans_the_whole_range_of_steps(backend: Backend) -> None:
    run = new_run(backend)
    steps = [-(2**63), -5, 0, 7, 2**40, 2**63 - 1]
    backend.store.write(run.id, metrics_=[("loss", v, s, 1) for v, s in zip([6.0, 1, 4, 3, 5, 2], steps, strict=True)])
    sampled = backend.store.get_metric_history(run.id, "loss", max_points=4)  # one bucket: the lowest, highest
    assert [(m.step, m.value) for m in sampled] == [(-(2**63), 6.0), (-5, 1.0), (2**63 - 1, 2.0)]


@pytest.mark.parametrize("max_points", [1, 0, -3, 10_001, 2.5, True, "100"])
def test_a_downsampled_history_refuses_a_bad_max_points(backend: Backend, max_points: object) -> None:
    run_id = _history(backend, [1.0, 2.0, 3.0])
    # A value of another type is refused by the server before the store sees it, in the server's words.
    wrong_type = type(max_points) is not int and server_of(backend) is not None
    with pytest.raises(InvalidInput, match="max_points" if wrong_type else r"'max_points' .* from 2 to 10,000.* Got"):
        backend.store.get_metric_history(run_id, "loss", max_points=max_points)  # type: ignore[arg-type]


def test_a_downsampled_history_of_an_unknown_run_is_not_found(backend: Backend) -> None:
    with pytest.raises(NotFound, match="nope"):
        backend.store.get_metric_history("nope", "loss", max_points=100)


def test_a_run_id_is_taken_once(backend: Backend) -> None:
    run = new_run(backend)
    with pytest.raises(AlreadyExists, match=run.id):
        backend.store.create_run(run.id, project="default", name="again")
    assert backend.store.get_run(run.id).name == "run"
