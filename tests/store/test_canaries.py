"""Canaries in the metadata store, on both databases: one running per model, history, audit events."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

import shipyard as sy
from shipyard.core.entities import Canary
from shipyard.store.canaries import CanaryStore
from shipyard.store.schema import canaries, projects
from tests._gate_helpers import bare_version, pass_gate
from tests.conftest import acting


@pytest.fixture
def store(client: sy.Client) -> CanaryStore:
    """``churn`` with versions 1, 2 and 3 in project ``default``, each holding a passing verdict."""
    for _ in range(3):
        pass_gate(client, "churn", bare_version(client).version)
    return client.backend.canaries


def test_a_canary_runs_until_it_ends_and_stays_in_the_history(client: sy.Client, store: CanaryStore) -> None:
    started = store.start("default", "churn", 2, 0.1, reason="retrained", actor="ana")
    assert (started.ref, started.share, started.state) == ("churn@2", 0.1, "running")
    assert started.started_by == acting(client, "ana")
    assert store.running("default", "churn") == started
    ended = store.end("default", "churn", "rolled_back", reason="auc dropped", actor="bo")
    assert (ended.state, ended.end_reason, ended.ended_by, ended.reason) == (
        "rolled_back",
        "auc dropped",
        acting(client, "bo"),
        "retrained",
    )
    assert ended.ended_at is not None and store.running("default", "churn") is None
    store.start("default", "churn", 3, 0.2, reason="", actor="ana")
    assert [(c.version, c.state) for c in store.history("default", "churn")] == [(3, "running"), (2, "rolled_back")]
    assert len(store.history("default", "churn", limit=1)) == 1


def test_a_second_start_names_the_running_canary_and_how_to_end_it(store: CanaryStore) -> None:
    store.start("default", "churn", 2, 0.1, reason="", actor="ana")
    with pytest.raises(sy.Conflict, match=r"churn@2 is already a canary.*canary-end churn --outcome stopped"):
        store.start("default", "churn", 3, 0.1, reason="", actor="bo")
    assert [c.version for c in store.history("default", "churn")] == [2]


def test_two_starts_at_once_leave_one_running_canary(store: CanaryStore) -> None:
    barrier = threading.Barrier(2)
    outcomes: dict[int, object] = {}

    def start(version: int) -> None:
        barrier.wait()
        try:
            outcomes[version] = store.start("default", "churn", version, 0.1, reason="", actor="t")
        except sy.Conflict as exc:
            outcomes[version] = exc

    threads = [threading.Thread(target=start, args=(v,)) for v in (2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [o for o in outcomes.values() if isinstance(o, Canary)]
    lost = [o for o in outcomes.values() if isinstance(o, sy.Conflict)]
    assert len(won) == 1 and len(lost) == 1
    assert f"{won[0].ref} is already a canary" in str(lost[0])


@pytest.mark.local_only("stubs a private step of the local CanaryStore")
def test_a_start_that_races_past_the_check_is_stopped_by_the_index(
    store: CanaryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.start("default", "churn", 2, 0.1, reason="", actor="ana")
    monkeypatch.setattr(store, "_running", lambda *_args: None)  # as if both had checked before either inserted
    with pytest.raises(sy.Conflict, match="churn@2 is already a canary"):
        store.start("default", "churn", 3, 0.1, reason="", actor="bo")
    monkeypatch.undo()
    assert [c.version for c in store.history("default", "churn")] == [2]


@pytest.mark.local_only("inserts rows straight into the local database")
def test_the_database_itself_allows_one_running_canary_per_model(store: CanaryStore) -> None:
    with store.engine.connect() as conn:
        project_id = conn.execute(sa.select(projects.c.id).where(projects.c.name == "default")).scalar_one()
    row = {"project_id": project_id, "model": "churn", "version": 2, "share": 0.1, "started_at": 0, "started_by": "t"}
    with store.engine.begin() as conn:
        conn.execute(canaries.insert().values(**row, state="stopped"))
        conn.execute(canaries.insert().values(**row, state="running"))
        conn.execute(canaries.insert().values(**{**row, "model": "other"}, state="running"))
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        conn.execute(canaries.insert().values(**row, state="running"))


def test_starts_and_ends_are_audited_in_their_transaction(client: sy.Client, store: CanaryStore) -> None:
    store.start("default", "churn", 2, 0.25, reason="new data", actor="ana")
    store.end("default", "churn", "promoted", reason="better", actor="bo")
    events = [e for e in client.models.audit_log("churn") if e.action.startswith("canary.")]
    assert [(e.action, e.actor, e.subject) for e in events] == [
        ("canary.end", acting(client, "bo"), "model:churn"),
        ("canary.start", acting(client, "ana"), "model:churn"),
    ]
    assert events[0].details["outcome"] == "promoted" and events[1].details["share"] == 0.25


def test_a_refused_start_writes_nothing(client: sy.Client, store: CanaryStore) -> None:
    client.backend.registry.set_status("default", "churn", 3, "archived", actor="t")
    with pytest.raises(sy.Conflict, match=r"churn@3 is archived; restore it"):
        store.start("default", "churn", 3, 0.1, reason="", actor="t")
    with pytest.raises(sy.NotFound, match="no version 9"):
        store.start("default", "churn", 9, 0.1, reason="", actor="t")
    assert store.history("default", "churn") == []
    assert not [e for e in client.models.audit_log("churn") if e.action.startswith("canary.")]


def test_ending_without_a_running_canary_is_not_found_and_says_what_ended_last(store: CanaryStore) -> None:
    with pytest.raises(sy.NotFound, match=r"no running canary\. Start one with `shipyard models canary churn"):
        store.end("default", "churn", "stopped", reason="", actor="t")
    store.start("default", "churn", 2, 0.1, reason="", actor="t")
    store.end("default", "churn", "stopped", reason="", actor="t")
    with pytest.raises(sy.NotFound, match=r"the last one, churn@2, ended as stopped"):
        store.end("default", "churn", "stopped", reason="", actor="t")
    assert store.running("nowhere", "churn") is None
