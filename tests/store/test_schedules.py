"""The schedule store on SQLite and PostgreSQL: definitions, and the lease that lets one scheduler run one."""

from __future__ import annotations

from typing import Any

import pytest

import shipyard as sy
from shipyard.core.entities import Schedule
from shipyard.store.schedules import ScheduleStore
from tests.conftest import acting

LEASE = 60_000
OWN_METHODS = pytest.mark.local_only("get and set_enabled are the local ScheduleStore's, not the backend seam's")


@pytest.fixture
def store(client: sy.Client) -> ScheduleStore:
    return client.backend.schedules


def add(store: ScheduleStore, name: str = "nightly", *, project: str = "churn", **changes: Any) -> Schedule:
    fields: dict[str, Any] = {"target": "/x/p.py:train", "cron": "0 3 * * *", "params": {"k": "v"}, "options": {}}
    fields |= {"next_run_at": 1_000, "actor": "me"} | changes
    return store.upsert(project, name, **fields)


def test_upsert_replaces_the_definition_and_keeps_the_history(client: sy.Client, store: ScheduleStore) -> None:
    first = add(store)
    [claimed] = store.claim_due(2_000, "a", LEASE)
    store.release(claimed.id, "a", run_id="r1", status="finished", finished_at=2_500, next_run_at=9_000)
    again = add(store, target="/x/q.py:t", cron="0 4 * * *", options={"workers": 2}, next_run_at=5, actor="you")
    assert again.id == first.id and (again.target, again.cron, again.next_run_at) == ("/x/q.py:t", "0 4 * * *", 5)
    assert again.options == {"workers": 2} and again.params == {"k": "v"}
    assert (again.last_run_id, again.last_status, again.created_by) == ("r1", "finished", acting(client, "me"))


@OWN_METHODS
def test_get_of_an_unknown_schedule_suggests_a_close_name(store: ScheduleStore) -> None:
    add(store, "nightly")
    with pytest.raises(sy.NotFound, match=r"Did you mean 'nightly'\?.*shipyard pipeline schedules"):
        store.get("churn", "nighty")


def test_list_is_per_project_or_all_and_delete_removes(store: ScheduleStore) -> None:
    add(store, "b")
    add(store, "a")
    add(store, "c", project="other")
    assert [s.name for s in store.list("churn")] == ["a", "b"]
    assert [s.name for s in store.list()] == ["a", "b", "c"]
    store.delete("churn", "a")
    assert [s.name for s in store.list("churn")] == ["b"]
    with pytest.raises(sy.NotFound, match="No schedule named 'a'"):
        store.delete("churn", "a")


@OWN_METHODS
def test_claim_takes_only_due_unleased_enabled_schedules(store: ScheduleStore) -> None:
    add(store, "due", next_run_at=1_000)
    add(store, "later", next_run_at=100_000)
    add(store, "paused", next_run_at=1_000)
    store.set_enabled("churn", "paused", False)
    assert [s.name for s in store.claim_due(2_000, "a", LEASE)] == ["due"]
    assert store.claim_due(2_000, "b", LEASE) == []  # held by "a"
    assert [s.name for s in store.claim_due(2_000 + LEASE + 1, "b", LEASE)] == ["due"]  # a's lease expired


@OWN_METHODS
def test_only_the_lease_holder_renews_or_releases(store: ScheduleStore) -> None:
    add(store)
    [claimed] = store.claim_due(2_000, "a", LEASE)
    assert not store.renew(claimed.id, "b", 99_000)
    assert not store.release(claimed.id, "b", run_id=None, status="failed", finished_at=3_000, next_run_at=9_000)
    assert store.renew(claimed.id, "a", 99_000)
    held = store.get("churn", "nightly")
    assert (held.lease_owner, held.lease_until, held.last_status) == ("a", 99_000, None)
    assert store.release(claimed.id, "a", run_id="r1", status="finished", finished_at=3_000, next_run_at=9_000)
    assert store.get("churn", "nightly").lease_owner is None


@OWN_METHODS
def test_a_schedule_redefined_during_a_run_keeps_its_new_next_run(store: ScheduleStore) -> None:
    add(store)
    [claimed] = store.claim_due(2_000, "a", LEASE)
    add(store, cron="*/5 * * * *", next_run_at=7_000)
    store.release(
        claimed.id, "a", run_id="r1", status="finished", finished_at=3_000, next_run_at=9_000, cron="0 3 * * *"
    )
    assert store.get("churn", "nightly").next_run_at == 7_000
