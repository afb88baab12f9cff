"""The audit log is a hash chain: ``verify`` finds an event changed, deleted or inserted outside Shipyard,
and an alias, verdict or policy whose state the log does not explain (an edit made straight into the database)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import shipyard as sy
from shipyard.cli.main import app
from tests._gate_helpers import bare_version, pass_gate


@pytest.fixture
def store(client: sy.Client) -> sy.Client:
    """churn@1 champion (passing verdict), churn@2 challenger; a deleted run: a dozen chained events."""
    bare_version(client), bare_version(client)
    pass_gate(client, "churn", 1)
    client.models.promote("churn@1")
    client.models.set_alias("churn", 2, "challenger")
    return client


SQL = pytest.mark.local_only("edits the local database straight, the tampering it is about")


def sql(client: sy.Client, statement: str, **params: object) -> None:
    with client.backend.store.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def kinds(client: sy.Client) -> list[str]:
    return [p.kind for p in client.models.verify_audit().problems]


def test_an_untouched_log_verifies_and_its_head_is_the_newest_event(store: sy.Client) -> None:
    found = store.models.verify_audit()
    assert found.ok and found.events >= 6
    newest = store.models.audit_log(limit=1)[0]
    assert store.models.audit_head() == (newest.seq, newest.hash) == (found.head_seq, found.head_hash)


def test_events_are_chained_gap_free_in_order(store: sy.Client) -> None:
    every = store.backend.registry.audit_events(None, limit=1000)  # a server's accounts are in the chain too
    events = sorted(every, key=lambda e: e.seq or 0)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


@SQL
def test_a_changed_event_shows(store: sy.Client) -> None:
    sql(store, "UPDATE audit_events SET actor = 'someone else' WHERE seq = 2")
    assert kinds(store) == ["changed"]


@SQL
def test_a_deleted_event_in_the_middle_shows(store: sy.Client) -> None:
    sql(store, "DELETE FROM audit_events WHERE seq = 3")
    assert "missing" in kinds(store)


@SQL
def test_deleting_the_newest_events_shows(store: sy.Client) -> None:
    head, _ = store.models.audit_head()
    sql(store, "DELETE FROM audit_events WHERE seq >= :s", s=head - 1)
    assert "missing" in kinds(store)


@SQL
def test_an_alias_moved_straight_in_the_database_shows(store: sy.Client) -> None:
    version_2 = store.models.get("churn@2").id
    sql(store, "UPDATE model_aliases SET model_version_id = :v WHERE alias = 'champion'", v=version_2)
    problems = store.models.verify_audit().problems
    assert {p.kind for p in problems} == {"alias"}
    assert any(
        "'champion' of model 'churn' points at version 2 but the audit log says version 1" in p.message
        for p in problems
    )


@SQL
def test_a_verdict_flipped_in_the_database_shows(store: sy.Client) -> None:
    pass_gate(store, "churn", 2, passed=False)
    sql(store, "UPDATE verdicts SET passed = :t WHERE passed = :f", t=True, f=False)
    assert kinds(store) == ["verdict"]


@SQL
def test_a_policy_rewritten_in_the_database_shows(store: sy.Client) -> None:
    sql(store, "UPDATE gate_policies SET body = :b", b='{"checks":[]}')
    assert kinds(store) == ["policy"]


@SQL
def test_an_event_inserted_outside_shipyard_shows(store: sy.Client) -> None:
    sql(
        store,
        "INSERT INTO audit_events (at, actor, action, subject, details) VALUES (1, 'x', 'alias.set', 'model:x', '{}')",
    )
    assert "unchained" in kinds(store)


@SQL
def test_shipyard_keeps_chaining_after_an_event_was_deleted_and_still_reports_it(store: sy.Client) -> None:
    head, _ = store.models.audit_head()
    sql(store, "DELETE FROM audit_events WHERE seq = :s", s=head)
    store.models.set_alias("churn", 1, "challenger")  # a new event links to the deleted one
    assert "missing" in kinds(store)


@SQL
def test_the_cli_exits_1_on_a_problem_and_0_otherwise(store: sy.Client) -> None:
    def verify(*extra: str) -> int:
        runner = CliRunner(env={"SHIPYARD_ARTIFACTS": store.settings.artifacts})
        return runner.invoke(app, ["--uri", store.settings.uri, "audit", "verify", *extra]).exit_code

    _, head = store.models.audit_head()
    assert verify() == 0
    assert verify("--expect-head", head) == 0
    assert verify("--expect-head", "sha256:" + "0" * 64) == 1
    sql(store, "UPDATE audit_events SET details = '{}' WHERE seq = 1")
    assert verify() == 1


@SQL
def test_alias_rows_record_what_allowed_them(store: sy.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    with store.backend.store.engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT alias, authorized_by FROM model_aliases")).all())
    assert rows["champion"].startswith("verdict:") and rows["challenger"] == "unprotected"
    monkeypatch.setenv("SHIPYARD_ALLOW_OVERRIDE", "1")
    store.models.promote("churn@2", override_reason="incident 9")
    with store.backend.store.engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT alias, authorized_by FROM model_aliases")).all())
    assert rows["champion"].startswith("override:") and rows["previous-champion"] == "promotion"
    assert store.models.verify_audit().ok


@pytest.mark.local_only("the override privilege comes from the process's environment; on a server from the admin role")
def test_a_refused_promotion_is_audited_and_moves_nothing(store: sy.Client) -> None:
    pass_gate(store, "churn", 2, passed=False)
    with pytest.raises(sy.GateBlocked):
        store.models.promote("churn@2")
    with pytest.raises(sy.PermissionDenied):
        store.models.promote("churn@2", override_reason="trust me")
    refused = [e for e in store.models.audit_log("churn", limit=100) if e.action == "gate.refused"]
    assert [(e.subject, e.details["by"]) for e in refused] == [("model:churn@2", "override"), ("model:churn@2", "gate")]
    assert store.models.get("churn@champion").version == 1 and store.models.verify_audit().ok


@SQL
def test_a_rewritten_chain_does_not_hold_a_head_recorded_earlier(store: sy.Client) -> None:
    _, head = store.models.audit_head()
    sql(store, "UPDATE audit_events SET hash = 'sha256:' || seq")  # every hash rewritten, as a forger would
    assert "head" in [p.kind for p in store.models.verify_audit(expect_head=head).problems]
