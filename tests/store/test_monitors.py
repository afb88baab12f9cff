"""Monitoring in the metadata store, on both databases: references, windows, and deduplicated alerts."""

from __future__ import annotations

import pytest

import shipyard as sy
from tests.conftest import acting


def test_a_reference_is_recorded_once_per_key_and_kept_by_gc(client: sy.Client) -> None:
    monitors = client.backend.monitors
    assert monitors.get_reference("dataset:abc") is None
    digest, _size = client.backend.blobs.put_bytes(b"a reference")
    monitors.put_reference("dataset:abc", digest, 1)
    monitors.put_reference("dataset:abc", digest, 2)
    assert monitors.get_reference("dataset:abc") == (digest, 2)
    assert digest in client.backend.store.referenced_digests()


def test_a_window_evaluated_twice_is_one_row_with_the_latest_results(client: sy.Client) -> None:
    monitors = client.backend.monitors
    for status in ("drift", "no_drift"):
        monitors.add_window(
            "p", "m", model="churn", version=3, start_at=0, end_at=100, rows=10, status=status, results={"s": status}
        )
    monitors.add_window(
        "p", "m", model="churn", version=3, start_at=100, end_at=200, rows=5, status="drift", results={}
    )
    windows = monitors.windows("p", "m")
    assert [(w.start_at, w.status, w.results) for w in windows] == [
        (0, "no_drift", {"s": "no_drift"}),
        (100, "drift", {}),
    ]
    assert monitors.last_window("p", "m").end_at == 200  # type: ignore[union-attr]
    assert monitors.windows("p", "m", since_ms=100)[0].start_at == 100
    assert monitors.last_window("nowhere", "m") is None


def test_a_failing_rule_keeps_one_alert_until_it_is_resolved(client: sy.Client) -> None:
    monitors = client.backend.monitors
    first, new = monitors.raise_alert("p", "m", "drift", model="churn", message="3 features drifted", details={})
    again, new_again = monitors.raise_alert("p", "m", "drift", model="churn", message="4 features", details={"n": 4})
    assert (new, new_again, again.id, again.windows, again.message) == (True, False, first.id, 2, "4 features")
    other, _ = monitors.raise_alert("p", "m", "auc", model="churn", message="auc 0.6", details={})
    assert other.id != first.id
    resolved = monitors.resolve_rule("p", "m", "drift")
    assert resolved is not None and resolved.state == "resolved" and resolved.resolved_at is not None
    assert monitors.resolve_rule("p", "m", "drift") is None
    reopened, new = monitors.raise_alert("p", "m", "drift", model="churn", message="again", details={})
    assert new and reopened.id not in (first.id, other.id)
    assert [a.rule for a in monitors.alerts("p", states=("open",))] == ["drift", "auc"]


def test_alerts_are_acknowledged_and_resolved_by_hand(client: sy.Client) -> None:
    monitors = client.backend.monitors
    alert, _ = monitors.raise_alert("p", "m", "drift", model="churn", message="x", details={})
    acked = monitors.set_state(alert.id, "acknowledged", by="ana")
    assert (acked.state, acked.acknowledged_by) == ("acknowledged", acting(client, "ana"))
    assert monitors.raise_alert("p", "m", "drift", model="churn", message="y", details={})[1] is False
    assert monitors.set_state(alert.id, "resolved", by="ana").state == "resolved"
    with pytest.raises(sy.InvalidInput, match="already resolved"):
        monitors.set_state(alert.id, "acknowledged", by="ana")
    with pytest.raises(sy.InvalidInput, match="acknowledged or resolved"):
        monitors.set_state(alert.id, "open", by="ana")
    with pytest.raises(sy.InvalidInput, match="Unknown alert state"):
        monitors.alerts("p", states=("closed",))


@pytest.mark.local_only("reads the alert back with the local store's get_alert, which is not in the backend seam")
def test_notification_state_is_kept_on_the_alert(client: sy.Client) -> None:
    monitors = client.backend.monitors
    alert, _ = monitors.raise_alert("p", "m", "drift", model="churn", message="x", details={})
    monitors.set_notification(alert.id, "failed", attempts=3, error="HTTP 500")
    stored = monitors.get_alert(alert.id)
    assert (stored.notify_state, stored.notify_attempts, stored.notify_error) == ("failed", 3, "HTTP 500")
    with pytest.raises(sy.NotFound, match="No alert with id 999"):
        monitors.get_alert(999)
