"""``shipyard gate run``, ``promote`` and ``rollback``: exit codes 0 pass, 1 fail or blocked, 2 bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from shipyard.cli.main import app
from tests.conftest import client_env
from tests.gates.conftest import World


@pytest.fixture
def shipyard(world: World, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(world.root)  # the policy is the project's shipyard.toml, found from the working directory

    def run(*args: str) -> Result:
        env = {"COLUMNS": "200", "NO_COLOR": "1", **client_env(world.client)}
        return CliRunner(env=env).invoke(app, list(args))

    return run


def test_a_passing_gate_exits_0_and_writes_the_reports(shipyard, world: World) -> None:
    result = shipyard("gate", "run", "churn@1", "--data", "churn-eval", "--markdown", "pr.md")
    assert result.exit_code == 0, result.output
    assert "gate PASSED" in result.stdout
    assert (world.root / "gate-churn-1.html").read_text().lower().startswith("<!doctype html")
    assert "Gate **PASSED**" in Path(world.root / "pr.md").read_text()


def test_a_failing_gate_exits_1_and_promotion_is_refused_with_exit_1(shipyard) -> None:
    assert shipyard("gate", "run", "churn@2", "--data", "churn-eval").exit_code == 1
    refused = shipyard("promote", "churn@2")
    assert refused.exit_code == 1
    assert "min_metric:roc_auc" in refused.stderr


def test_a_bad_policy_exits_2_naming_the_key(shipyard, world: World) -> None:
    world.policy('[gate]\n[[gate.checks]]\nkind = "min_metric"\nmetric = "roc_auc"\nthreshold = "high"\n')
    result = shipyard("gate", "run", "churn@1", "--data", "churn-eval")
    assert result.exit_code == 2
    assert "threshold must be a number; got 'high'" in result.stderr


def test_promote_then_rollback(shipyard, world: World) -> None:
    world.policy('[gate]\nlabel = "churned"\n[[gate.checks]]\nkind = "min_rows"\nmin = 10\n')
    for ref in ("churn@1", "churn@2"):
        assert shipyard("gate", "run", ref, "--data", "churn-eval").exit_code == 0
        assert shipyard("promote", ref).exit_code == 0
    result = shipyard("rollback", "churn")
    assert result.exit_code == 0, result.output
    assert world.client.models.get("churn@champion").version == 1


def test_override_needs_a_reason(shipyard) -> None:
    assert shipyard("promote", "churn@2", "--override").exit_code == 2
