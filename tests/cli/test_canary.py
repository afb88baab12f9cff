"""``shipyard models canary`` and ``canary-end``: start and end a canary through the registry."""

from __future__ import annotations

import os
from typing import Any

import pytest

import shipyard
from shipyard.core.entities import ModelVersion
from tests._gate_helpers import pass_gate
from tests.cli.helpers import Invoke, strict_json
from tests.cli.test_models import log_model


@pytest.fixture
def churn(store: shipyard.Client) -> ModelVersion:
    """Versions 1 and 2 of ``churn``, each holding a passing verdict."""
    for _ in range(2):
        logged = log_model(store)
        pass_gate(store, "churn", logged.version)
    return logged


def test_a_canary_is_started_in_percent_shown_and_ended(
    store: shipyard.Client, churn: ModelVersion, invoke: Invoke
) -> None:
    started = invoke("models", "canary", "churn", "2", "--share", "10", "--reason", "June data")
    assert started.exit_code == 0, started.output
    assert "churn@2 takes 10% of churn's traffic" in started.stdout and "canary-end churn" in started.stdout
    assert store.models.canary("churn").share == 0.1  # type: ignore[union-attr]
    shown = invoke("models", "show", "churn@1")
    assert "canary: churn@2 takes 10% of traffic" in shown.stdout and "June data" in shown.stdout
    assert strict_json(invoke("models", "show", "churn", "--versions", "--json").stdout)["canary"]["version"] == 2
    ended = invoke("models", "canary-end", "churn", "--outcome", "promoted", "--json")
    assert ended.exit_code == 0, ended.output
    assert strict_json(ended.stdout)["state"] == "promoted"
    assert strict_json(invoke("models", "show", "churn@1", "--json").stdout)["canary"] is None


def test_ending_as_promoted_says_no_alias_moved_and_how_to_promote(churn: ModelVersion, invoke: Invoke) -> None:
    invoke("models", "canary", "churn", "2", "--share", "5")
    ended = invoke("models", "canary-end", "churn", "--outcome", "promoted")
    assert ended.exit_code == 0, ended.output
    assert "no alias moved. Promote it with: shipyard promote churn@2" in ended.stdout


@pytest.mark.parametrize("share", ["0", "60", "-5"])
def test_a_share_outside_zero_to_fifty_percent_exits_2(churn: ModelVersion, invoke: Invoke, share: str) -> None:
    result = invoke("models", "canary", "churn", "2", "--share", share)
    assert result.exit_code == 2
    assert "percentage of traffic above 0 and at most 50" in result.stderr


def test_a_second_canary_exits_2_naming_the_running_one(churn: ModelVersion, invoke: Invoke) -> None:
    invoke("models", "canary", "churn", "2", "--share", "10")
    result = invoke("models", "canary", "churn", "1", "--share", "10")
    assert result.exit_code == 2
    assert "churn@2 is already a canary" in result.stderr and "canary-end churn --outcome stopped" in result.stderr


def test_an_unknown_version_or_outcome_exits_2(churn: ModelVersion, invoke: Invoke) -> None:
    missing = invoke("models", "canary", "churn", "7", "--share", "10")
    assert missing.exit_code == 2 and "no version 7" in missing.stderr
    invoke("models", "canary", "churn", "2", "--share", "10")
    bad = invoke("models", "canary-end", "churn", "--outcome", "rolledback")
    assert bad.exit_code == 2 and "Did you mean 'rolled_back'?" in bad.stderr


def test_ending_when_none_runs_exits_2(churn: ModelVersion, invoke: Invoke) -> None:
    result = invoke("models", "canary-end", "churn", "--outcome", "stopped")
    assert result.exit_code == 2 and "has no running canary" in result.stderr


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """What ``shipyard serve`` would hand its server processes (uvicorn is not started)."""
    import uvicorn

    captured: dict[str, object] = {}
    monkeypatch.setenv("SHIPYARD_SERVE_OPTIONS", "")  # restored after the test
    monkeypatch.setattr(
        uvicorn, "run", lambda *_args, **_kwargs: captured.update(strict_json(os.environ["SHIPYARD_SERVE_OPTIONS"]))
    )
    return captured


def test_serve_follows_the_registry_canary_unless_told_not_to(
    churn: ModelVersion, invoke: Invoke, served: dict[str, Any]
) -> None:
    invoke("models", "canary", "churn", "2", "--share", "10")
    following = invoke("serve", "churn@1")
    assert following.exit_code == 0, following.output
    assert "canary: churn@2 (from the registry), 10% of traffic" in following.stderr
    assert served["options"]["follow_registry_canary"] is True
    fixed = invoke("serve", "churn@1", "--no-registry-canary")
    assert fixed.exit_code == 0, fixed.output
    assert "from the registry" not in fixed.stderr and served["options"]["follow_registry_canary"] is False


@pytest.mark.parametrize("role", [("--canary", "churn@3:10"), ("--shadow", "churn@3")])
def test_serve_refuses_a_canary_or_shadow_without_a_passing_verdict(
    store: shipyard.Client, churn: ModelVersion, invoke: Invoke, served: dict[str, Any], role: tuple[str, str]
) -> None:
    failing = log_model(store)  # churn@3: its newest verdict fails
    pass_gate(store, "churn", failing.version, passed=False)
    result = invoke("serve", "churn@1", *role)
    assert result.exit_code == 1
    assert "may not take live traffic" in result.stderr and served == {}  # no server was started
