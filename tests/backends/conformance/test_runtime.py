"""The runtime loop's records: prediction log segments, monitor references, windows and alerts, canaries
(guarded like a protected alias) and retraining loops."""

from __future__ import annotations

import pytest

from shipyard.backends import Backend
from shipyard.core.errors import Conflict, GateBlocked, InvalidInput, NotFound, PermissionDenied
from tests.backends.conformance.conftest import PROJECT, acting, add_verdict, digest, new_version


def segment(backend: Backend, kind: str, first_at: int, last_at: int, versions: tuple[int, ...] = (1,)) -> int:
    return backend.predictions.add_segment(
        PROJECT, "churn", kind, blob_digest=digest(), rows=3, first_at=first_at, last_at=last_at, versions=versions
    )


def test_segments_are_found_by_model_kind_and_time_oldest_first(backend: Backend) -> None:
    early, late = segment(backend, "predictions", 0, 99, (2, 1, 2)), segment(backend, "predictions", 100, 199)
    segment(backend, "feedback", 0, 50)
    found = backend.predictions.segments(PROJECT, "churn", "predictions")
    assert [(s.id, s.versions, s.rows) for s in found] == [(early, (1, 2), 3), (late, (1,), 3)]
    assert [s.id for s in backend.predictions.segments(PROJECT, "churn", "predictions", since_ms=100)] == [late]
    assert [s.id for s in backend.predictions.segments(PROJECT, "churn", "predictions", until_ms=100)] == [early]
    assert backend.predictions.segments(PROJECT, "fraud", "feedback") == []
    assert {s.blob_digest for s in found} <= backend.store.referenced_digests()


def test_a_segment_of_an_unknown_kind_or_project_is_refused(backend: Backend) -> None:
    with pytest.raises(InvalidInput, match="feedback"):
        segment(backend, "labels", 0, 1)
    with pytest.raises(NotFound, match="ghost"):
        backend.predictions.segments("ghost", "churn", "predictions")
    segment(backend, "predictions", 0, 1)
    with pytest.raises(InvalidInput, match="labels"):
        backend.predictions.segments(PROJECT, "churn", "labels")


def test_a_drift_reference_is_recorded_and_replaced(backend: Backend) -> None:
    assert backend.monitors.get_reference("ref-1") is None
    first, second = digest(), digest()
    backend.monitors.put_reference("ref-1", first, 1)
    backend.monitors.put_reference("ref-1", second, 2)
    assert backend.monitors.get_reference("ref-1") == (second, 2)
    assert second in backend.store.referenced_digests()


def window(backend: Backend, start: int, status: str = "ok", rows: int = 10) -> int:
    return backend.monitors.add_window(
        PROJECT, "drift", model="churn", version=1, start_at=start, end_at=start + 10, rows=rows, status=status,
        results={"psi": 0.1},
    ).id  # fmt: skip


def test_windows_are_replaced_when_evaluated_again_and_read_oldest_first(backend: Backend) -> None:
    assert backend.monitors.last_window(PROJECT, "drift") is None
    first = window(backend, 0)
    assert window(backend, 0, status="fail", rows=11) == first
    window(backend, 10)
    window(backend, 20)
    assert [(w.start_at, w.status) for w in backend.monitors.windows(PROJECT, "drift")] == [
        (0, "fail"), (10, "ok"), (20, "ok"),
    ]  # fmt: skip
    assert [w.start_at for w in backend.monitors.windows(PROJECT, "drift", since_ms=20)] == [20]
    assert [w.start_at for w in backend.monitors.windows(PROJECT, "drift", limit=2)] == [10, 20]
    last = backend.monitors.last_window(PROJECT, "drift")
    assert last is not None and (last.start_at, last.results) == (20, {"psi": 0.1})
    with pytest.raises(NotFound, match="ghost"):
        backend.monitors.windows("ghost", "drift")


def alert(backend: Backend, rule: str = "psi") -> tuple[int, bool]:
    raised, new = backend.monitors.raise_alert(
        PROJECT, "drift", rule, model="churn", message=f"{rule} failed", details={"psi": 0.3}
    )
    return raised.id, new


def test_an_unresolved_alert_counts_windows_until_its_rule_passes(backend: Backend) -> None:
    first, new = alert(backend)
    assert new and alert(backend) == (first, False)
    assert backend.monitors.alerts(PROJECT)[0].windows == 2
    resolved = backend.monitors.resolve_rule(PROJECT, "drift", "psi")
    assert resolved is not None and (resolved.id, resolved.state) == (first, "resolved")
    assert backend.monitors.resolve_rule(PROJECT, "drift", "psi") is None
    assert backend.monitors.resolve_rule("ghost", "drift", "psi") is None
    second, new = alert(backend)
    assert new and second != first


def test_alerts_are_acknowledged_or_resolved_by_hand_and_listed_by_state(backend: Backend) -> None:
    first, _ = alert(backend, "psi")
    second, _ = alert(backend, "nulls")
    acked = backend.monitors.set_state(first, "acknowledged", by="alice")
    assert (acked.state, acked.acknowledged_by) == ("acknowledged", acting(backend, "alice"))
    again = backend.monitors.set_state(first, "acknowledged", by="bob")
    assert again.acknowledged_by == acting(backend, "alice")  # idempotent: the first one to acknowledge stays
    backend.monitors.set_state(second, "resolved", by="alice")
    assert [a.id for a in backend.monitors.alerts(PROJECT)] == [second, first]
    assert [a.id for a in backend.monitors.alerts(PROJECT, states=("acknowledged",))] == [first]
    assert [a.id for a in backend.monitors.alerts(PROJECT, monitor="drift", limit=1)] == [second]
    assert backend.monitors.alerts(PROJECT, monitor="other") == [] and len(backend.monitors.alerts()) == 2


def test_alert_changes_that_make_no_sense_are_refused(backend: Backend) -> None:
    first, _ = alert(backend)
    with pytest.raises(InvalidInput, match="acknowledged or resolved"):
        backend.monitors.set_state(first, "open", by="alice")
    backend.monitors.set_state(first, "resolved", by="alice")
    with pytest.raises(InvalidInput, match="already resolved"):
        backend.monitors.set_state(first, "acknowledged", by="alice")
    with pytest.raises(NotFound, match="999"):
        backend.monitors.set_state(999, "resolved", by="alice")
    with pytest.raises(InvalidInput, match="snoozed"):
        backend.monitors.alerts(PROJECT, states=("snoozed",))
    with pytest.raises(NotFound, match="ghost"):
        backend.monitors.alerts("ghost")


def test_an_alerts_notification_state_is_recorded(backend: Backend) -> None:
    first, _ = alert(backend)
    backend.monitors.set_notification(first, "failed", attempts=2, error="timeout")
    got = backend.monitors.alerts(PROJECT)[0]
    assert (got.notify_state, got.notify_attempts, got.notify_error) == ("failed", 2, "timeout")
    with pytest.raises(InvalidInput, match="lost"):
        backend.monitors.set_notification(first, "lost", attempts=3)


def test_a_canary_takes_traffic_only_with_a_passing_verdict(backend: Backend) -> None:
    version = new_version(backend)
    assert backend.canaries.running(PROJECT, "churn") is None
    with pytest.raises(GateBlocked):
        backend.canaries.start(PROJECT, "churn", version.version, 0.1, reason="try", actor="tester")
    add_verdict(backend, version)
    started = backend.canaries.start(PROJECT, "churn", version.version, 0.1, reason="try", actor="tester")
    assert (started.version, started.share, started.state) == (1, 0.1, "running")
    assert backend.canaries.running(PROJECT, "churn") == started


def test_an_admin_may_start_a_canary_without_a_verdict_with_a_reason(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_version(backend)
    monkeypatch.delenv("SHIPYARD_ALLOW_OVERRIDE", raising=False)
    with pytest.raises(PermissionDenied):
        backend.canaries.start(PROJECT, "churn", 1, 0.1, reason="r", actor="t", override_reason="hotfix")
    monkeypatch.setenv("SHIPYARD_ALLOW_OVERRIDE", "1")
    assert backend.canaries.start(PROJECT, "churn", 1, 0.1, reason="r", actor="t", override_reason="hotfix").id


def test_one_canary_at_a_time_never_the_champion_and_only_of_what_exists(backend: Backend) -> None:
    first, second, third = new_version(backend), new_version(backend), new_version(backend)
    for version in (first, second, third):
        add_verdict(backend, version)
    backend.registry.set_alias(PROJECT, "churn", 1, "champion", actor="tester")
    with pytest.raises(Conflict, match="champion already"):
        backend.canaries.start(PROJECT, "churn", 1, 0.1, reason="r", actor="t")
    for missing in ((PROJECT, "ghost", 1), (PROJECT, "churn", 9)):
        with pytest.raises(NotFound):
            backend.canaries.start(*missing, 0.1, reason="r", actor="t")
    backend.canaries.start(PROJECT, "churn", 2, 0.1, reason="r", actor="t")
    with pytest.raises(Conflict, match="already a canary"):
        backend.canaries.start(PROJECT, "churn", 3, 0.1, reason="r", actor="t")


def test_ending_a_canary_records_its_outcome_and_keeps_its_history(backend: Backend) -> None:
    version = new_version(backend)
    add_verdict(backend, version)
    with pytest.raises(NotFound, match="no running canary"):
        backend.canaries.end(PROJECT, "churn", "stopped", reason="r", actor="t")
    first = backend.canaries.start(PROJECT, "churn", 1, 0.1, reason="r", actor="t")
    ended = backend.canaries.end(PROJECT, "churn", "rolled_back", reason="worse", actor="t")
    assert (ended.id, ended.state, ended.end_reason) == (first.id, "rolled_back", "worse")
    second = backend.canaries.start(PROJECT, "churn", 1, 0.2, reason="again", actor="t")
    assert [c.id for c in backend.canaries.history(PROJECT, "churn")] == [second.id, first.id]
    assert [c.id for c in backend.canaries.history(PROJECT, "churn", limit=1)] == [second.id]
    backend.canaries.end(PROJECT, "churn", "stopped", reason="r", actor="t")
    with pytest.raises(NotFound, match="ended as stopped"):
        backend.canaries.end(PROJECT, "churn", "stopped", reason="r", actor="t")


def start_loop(backend: Backend, model: str = "churn") -> int:
    return backend.loops.start(
        PROJECT, model, monitor="drift", alert_id=None, champion_version=1, baseline_version=1, actor="t", message="go"
    ).id


def test_a_loop_moves_through_its_steps_to_an_ending_with_its_history(backend: Backend) -> None:
    loop = start_loop(backend)
    running = backend.loops.advance(loop, "gating", "gate", actor="t", pipeline_run_id="r1", candidate_version=2)
    assert (running.state, running.pipeline_run_id, running.candidate_version, running.finished) == (
        "gating", "r1", 2, False,
    )  # fmt: skip
    done = backend.loops.advance(loop, "promoted", "done", actor="t")
    assert done.finished and [h["state"] for h in done.history] == ["retraining", "gating", "promoted"]
    assert [x.id for x in backend.loops.loops(PROJECT)] == [loop]
    assert backend.loops.loops(PROJECT, unfinished=True) == [] and backend.loops.loops("ghost") == []


def test_one_unfinished_loop_per_model(backend: Backend) -> None:
    first = start_loop(backend)
    with pytest.raises(Conflict, match=f"loop {first}"):
        start_loop(backend)
    other = start_loop(backend, "fraud")
    assert [x.id for x in backend.loops.loops(PROJECT, model="fraud")] == [other]
    backend.loops.advance(first, "failed", "broke", actor="t")
    again = start_loop(backend)
    assert again != first and [x.id for x in backend.loops.loops(PROJECT, limit=1)] == [again]


def test_a_loop_that_does_not_exist_or_a_state_it_cannot_take_is_refused(backend: Backend) -> None:
    loop = start_loop(backend)
    with pytest.raises(NotFound, match="999"):
        backend.loops.advance(999, "gating", "x", actor="t")
    with pytest.raises(InvalidInput, match="'paused'"):
        backend.loops.advance(loop, "paused", "x", actor="t")
    with pytest.raises(InvalidInput, match="colour"):
        backend.loops.advance(loop, "gating", "x", actor="t", colour="red")
