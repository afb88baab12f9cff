"""Pipeline steps, the step cache and run outputs; cron schedules and their leases."""

from __future__ import annotations

from typing import Any

import pytest

from shipyard.backends import Backend
from shipyard.core.entities import StepStatus
from shipyard.core.errors import InvalidInput, NotFound
from tests.backends.conformance.conftest import PROJECT, new_dataset, new_run


def test_nodes_are_recorded_pending_in_dag_order_and_updated(backend: Backend) -> None:
    pipeline, run = new_run(backend).id, new_run(backend)
    backend.pipelines.add_nodes(pipeline, [("load", "load", []), ("train", "train", ["load"])])
    backend.pipelines.update_node(pipeline, "load", status="finished", run_id=run.id, outputs={"df": {"kind": "x"}})
    nodes = backend.pipelines.nodes(pipeline)
    assert [(n.node, n.position, n.upstream, n.status) for n in nodes] == [
        ("load", 0, (), StepStatus.FINISHED),
        ("train", 1, ("load",), StepStatus.PENDING),
    ]
    assert (nodes[0].run_id, nodes[0].outputs) == (run.id, {"df": {"kind": "x"}})
    assert backend.pipelines.nodes("nope") == []


def test_nodes_belong_to_an_existing_pipeline_run(backend: Backend) -> None:
    with pytest.raises(NotFound, match="nope"):
        backend.pipelines.add_nodes("nope", [("load", "load", [])])
    assert backend.pipelines.nodes("nope") == []


def test_a_node_field_that_does_not_exist_is_refused(backend: Backend) -> None:
    pipeline = new_run(backend).id
    backend.pipelines.add_nodes(pipeline, [("load", "load", [])])
    with pytest.raises(InvalidInput, match="colour"):  # a client's mistake: over HTTP a 422, not a 500
        backend.pipelines.update_node(pipeline, "load", colour="red")
    with pytest.raises(InvalidInput, match="'done'"):
        backend.pipelines.update_node(pipeline, "load", status="done")


def test_the_cache_finds_the_latest_finished_step_of_a_run_that_still_exists(backend: Backend) -> None:
    first, second = new_run(backend), new_run(backend)
    p1, p2, p3 = (new_run(backend).id for _ in range(3))
    for pipeline in (p1, p2, p3):
        backend.pipelines.add_nodes(pipeline, [("a", "a", [])])
    done: dict[str, Any] = {"status": "finished", "cache_key": "k"}
    backend.pipelines.update_node(p1, "a", run_id=first.id, outputs={"o": 1}, ended_at=1, **done)
    backend.pipelines.update_node(p2, "a", run_id=second.id, outputs={"o": 2}, ended_at=2, **done)
    backend.pipelines.update_node(p3, "a", run_id=second.id, status="failed", cache_key="k", ended_at=3)
    assert backend.pipelines.find_cached("k") == (second.id, {"o": 2})
    backend.store.delete_run(second.id)
    assert backend.pipelines.find_cached("k") == (first.id, {"o": 1})
    assert backend.pipelines.find_cached("other") is None


def test_outputs_link_runs_and_dataset_versions_both_ways(backend: Backend) -> None:
    run, data = new_run(backend), new_dataset(backend)
    backend.pipelines.add_outputs(run.id, {"features": data.id})
    backend.pipelines.add_outputs(run.id, {"features": data.id})  # idempotent
    backend.pipelines.add_outputs(run.id, {})
    assert backend.pipelines.outputs_of(run.id) == [("features", data)]
    assert backend.pipelines.producers(data.id) == [(run.id, "features")]
    assert backend.pipelines.outputs_of("nope") == [] and backend.pipelines.producers(-1) == []


def upsert(backend: Backend, name: str = "nightly", *, cron: str = "0 3 * * *", next_run_at: int = 100) -> int:
    made = backend.schedules.upsert(
        PROJECT,
        name,
        target="flows:train",
        cron=cron,
        params={"n": "1"},
        options={},
        next_run_at=next_run_at,
        actor="t",
    )
    return made.id


def test_a_schedule_is_created_then_redefined_in_place(backend: Backend) -> None:
    first = upsert(backend)
    assert upsert(backend, cron="0 4 * * *", next_run_at=200) == first
    [listed] = backend.schedules.list(PROJECT)
    assert (listed.cron, listed.next_run_at, listed.params, listed.enabled) == ("0 4 * * *", 200, {"n": "1"}, True)
    assert backend.schedules.list("ghost") == [] and len(backend.schedules.list()) == 1


def test_deleting_an_unknown_schedule_is_not_found_with_a_suggestion(backend: Backend) -> None:
    upsert(backend)
    with pytest.raises(NotFound, match="Did you mean 'nightly'"):
        backend.schedules.delete(PROJECT, "nightyl")
    backend.schedules.delete(PROJECT, "nightly")
    assert backend.schedules.list(PROJECT) == []


def test_a_due_schedule_is_claimed_by_one_owner_until_its_lease_ends(backend: Backend) -> None:
    due, later = upsert(backend, "due", next_run_at=100), upsert(backend, "later", next_run_at=10_000)
    assert [s.id for s in backend.schedules.claim_due(150, "a", lease_ms=50)] == [due]
    assert backend.schedules.claim_due(160, "b", lease_ms=50) == []
    assert backend.schedules.renew(due, "a", lease_until=300) and not backend.schedules.renew(due, "b", 400)
    assert [s.lease_owner for s in backend.schedules.claim_due(301, "b", lease_ms=50)] == ["b"]  # a's lease ran out
    assert not backend.schedules.release(due, "a", run_id=None, status="ok", finished_at=1, next_run_at=500)
    assert backend.schedules.release(due, "b", run_id="r", status="finished", finished_at=320, next_run_at=500)
    done = next(s for s in backend.schedules.list(PROJECT) if s.id == due)
    assert (done.lease_owner, done.last_run_id, done.last_status, done.next_run_at) == (None, "r", "finished", 500)
    assert backend.schedules.earliest_next_run(after=320) == 500
    assert backend.schedules.earliest_next_run(after=10_000) is None and later


def test_a_schedule_redefined_while_it_ran_keeps_its_new_next_run(backend: Backend) -> None:
    made = upsert(backend, next_run_at=100)
    backend.schedules.claim_due(100, "a", lease_ms=1000)
    upsert(backend, cron="*/5 * * * *", next_run_at=900)
    assert backend.schedules.release(
        made, "a", run_id="r", status="finished", finished_at=150, next_run_at=700, cron="0 3 * * *"
    )
    assert backend.schedules.list(PROJECT)[0].next_run_at == 900
