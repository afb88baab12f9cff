"""The gate at the server: the server runs it, stores the verdict with the caller as actor, and decides
promotions and overrides by role; clients read verdicts, never write them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import shipyard as sy
from shipyard.cli.main import app
from shipyard.core.errors import ModelFailed
from shipyard.core.refs import Ref
from shipyard.gates import Gate
from shipyard.gates.verdict import Verdict
from tests._server import RunningServer, server_thread
from tests.gates.conftest import POLICY, frame

PROJECT = "churn"
USERS = {"editor": "erin", "maintainer": "mae", "admin": "ada"}  # each with that role in the project
GATE = POLICY.replace("[gate]\n", '[gate]\ndata = "churn-eval"\n', 1)


@dataclass
class Team:
    server: RunningServer
    root: Path  # the clients' working folder, with shipyard.toml
    client: Callable[[str], sy.Client]  # a client over HTTP as one of: editor, maintainer, admin

    def apply(self, body: str = GATE) -> None:
        (self.root / "shipyard.toml").write_text(body)
        Gate(self.client("maintainer")).apply(project=PROJECT)

    def events(self, action: str) -> list[sy.AuditEvent]:
        return [e for e in self.server.backend.registry.audit_events(PROJECT, limit=1000) if e.action == action]

    def latest(self, version: int) -> dict[str, object] | None:
        found = self.server.backend.registry.get_version(PROJECT, Ref("churn", version=version))
        return self.server.backend.verdicts.latest(found.id)


def _log_models(uri: str, artifacts: str, cwd: Path) -> None:
    """churn@1 a good classifier, churn@2 a poor one, and the eval data, written straight into the store."""
    owner = sy.Client(uri, artifacts=artifacts, capture_environment=False, cwd=cwd)
    try:
        train_df, eval_df = frame(1500, 1), frame(600, 2)
        train = owner.datasets.register("churn-train", train_df, project=PROJECT)
        owner.datasets.register("churn-eval", eval_df, project=PROJECT)
        x, y = train_df[["tenure", "calls"]], train_df["churned"]
        with owner.start_run(project=PROJECT, name="good") as run:
            run.log_model(LogisticRegression().fit(x, y), "churn", train_data=train)
        with owner.start_run(project=PROJECT, name="poor") as run:
            run.log_model(DummyClassifier(strategy="prior").fit(x, y), "churn", train_data=train)
    finally:
        owner.close()


@contextmanager
def team_on(uri: str, artifacts: str, tmp_path: Path) -> Iterator[Team]:
    root = tmp_path / "work"
    root.mkdir()
    _log_models(uri, artifacts, tmp_path)
    opened: list[sy.Client] = []
    with server_thread(uri, artifacts, tmp_path) as server:
        tokens = {role: server.token_for(user, role, PROJECT) for role, user in USERS.items()}

        def client(role: str) -> sy.Client:
            made = sy.Client(server.url, token=tokens[role], capture_environment=False, cwd=root)
            opened.append(made)
            return made

        try:
            yield Team(server, root, client)
        finally:
            for made in opened:
                made.close()


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Team]:
    monkeypatch.delenv("SHIPYARD_ALLOW_OVERRIDE", raising=False)  # on a server, overriding is the admin role's
    store = tmp_path / "store"
    with team_on(str(store), str(store / "artifacts"), tmp_path) as made:
        yield made


def test_an_editor_evaluates_and_the_server_stores_the_verdict_as_the_editor(team: Team) -> None:
    team.apply()
    verdict = Gate(team.client("editor")).evaluate("churn@1", project=PROJECT)
    assert isinstance(verdict, Verdict)
    assert verdict.passed and verdict.binding and verdict.failed == []
    assert {c.name for c in verdict.checks} == {"min_metric:roc_auc", "min_rows"}
    stored = team.latest(1)
    assert stored is not None and stored["id"] == verdict.id and verdict.report_digest
    assert [e.actor for e in team.events("gate.verdict")] == ["erin"]
    assert team.server.backend.blobs.read_bytes(verdict.report_digest).decode().lower().startswith("<!doctype html")


def test_a_failing_model_cannot_be_promoted_by_a_maintainer(team: Team) -> None:
    team.apply()
    verdict = Gate(team.client("editor")).evaluate("churn@2", project=PROJECT)
    assert not verdict.passed
    assert [c.name for c in verdict.failed] == ["min_metric:roc_auc"]
    with pytest.raises(sy.GateBlocked):
        team.client("maintainer").models.set_alias("churn", 2, "champion", project=PROJECT)


def test_an_editor_cannot_move_a_protected_alias_a_maintainer_can(team: Team) -> None:
    team.apply()
    Gate(team.client("editor")).evaluate("churn@1", project=PROJECT)
    with pytest.raises(sy.PermissionDenied, match="maintainer"):
        team.client("editor").models.set_alias("churn", 1, "champion", project=PROJECT)
    assert team.client("maintainer").models.promote("churn@1", project=PROJECT).version == 1
    assert [e.actor for e in team.events("alias.set")][-1:] == ["mae"]


def test_overriding_is_the_admin_roles_with_a_reason_and_audited(team: Team) -> None:
    team.apply()
    with pytest.raises(sy.PermissionDenied, match="admin"):
        team.client("maintainer").models.promote("churn@2", project=PROJECT, override_reason="hotfix")
    moved = team.client("admin").models.promote("churn@2", project=PROJECT, override_reason="hotfix for INC-7")
    assert moved.version == 2
    [event] = team.events("gate.override")
    assert event.actor == "ada" and event.details["reason"] == "hotfix for INC-7"


def test_a_canary_past_the_gate_is_the_admin_roles_too(team: Team) -> None:
    team.apply()
    Gate(team.client("editor")).evaluate("churn@1", project=PROJECT)
    maintainer = team.client("maintainer")
    maintainer.models.promote("churn@1", project=PROJECT)
    with pytest.raises(sy.GateBlocked, match="may not take live traffic as a canary"):
        maintainer.models.start_canary("churn", 2, 0.1, project=PROJECT)
    with pytest.raises(sy.PermissionDenied, match="admin"):
        maintainer.models.start_canary("churn", 2, 0.1, project=PROJECT, override_reason="measure it live")
    assert maintainer.models.canary("churn", project=PROJECT) is None
    team.client("admin").models.start_canary("churn", 2, 0.1, project=PROJECT, override_reason="measure it live")
    [event] = team.events("gate.override")
    assert event.actor == "ada" and event.details["canary"]


def test_a_gate_process_that_dies_answers_an_error_and_the_next_run_gets_new_processes(team: Team) -> None:
    import os

    import numpy as np

    class Crashing:  # dies on the eval data as under the out-of-memory killer; logging it predicts only 5 rows
        def predict(self, table: object) -> object:
            return self.predict_proba(table)[:, 1] > 0.5

        def predict_proba(self, table: object) -> object:
            if len(table) > 100:  # type: ignore[arg-type]
                os._exit(9)
            return np.full((len(table), 2), 0.5)  # type: ignore[arg-type]

    editor = team.client("editor")
    with editor.start_run(project=PROJECT) as run:
        run.log_model(Crashing(), "crashing", flavor="python_function", input_example=frame(20, 1)[["calls"]])
    team.apply(GATE.replace("[gate]\n", "[gate]\nallow_unsafe = true\n", 1))
    with pytest.raises(ModelFailed, match=r"gate process ended abruptly while judging crashing@1"):
        Gate(editor).evaluate("crashing@1", project=PROJECT)
    assert team.events("gate.verdict") == []
    with pytest.raises(sy.GateBlocked):
        team.client("maintainer").models.promote("crashing@1", project=PROJECT)
    assert Gate(editor).evaluate("churn@1", project=PROJECT).passed  # a new pool judges the next request


def test_an_editor_cannot_apply_a_policy_a_maintainer_can(team: Team) -> None:
    (team.root / "shipyard.toml").write_text(GATE)
    with pytest.raises(sy.PermissionDenied, match="maintainer"):
        Gate(team.client("editor")).apply(project=PROJECT)
    assert team.server.backend.policies.in_force(PROJECT) is None
    applied, _ = Gate(team.client("maintainer")).apply(project=PROJECT)
    assert applied.applied_by == "mae"
    assert team.server.backend.policies.in_force(PROJECT) == applied


def test_an_editors_first_gate_run_applies_nothing_and_says_to_ask_a_maintainer(team: Team) -> None:
    (team.root / "shipyard.toml").write_text(GATE)
    verdict = Gate(team.client("editor")).evaluate("churn@1", data="churn-eval", project=PROJECT)
    assert not verdict.passed  # no policy in force never passes
    assert any("ask a maintainer" in note for note in verdict.notes)
    assert team.server.backend.policies.in_force(PROJECT) is None


def test_a_verdict_under_an_old_policy_does_not_promote(team: Team) -> None:
    team.apply()
    Gate(team.client("editor")).evaluate("churn@1", project=PROJECT)
    team.apply(GATE.replace("threshold = 0.75", "threshold = 0.8"))
    maintainer = team.client("maintainer")
    with pytest.raises(sy.GateBlocked):
        maintainer.models.promote("churn@1", project=PROJECT)
    assert Gate(team.client("editor")).evaluate("churn@1", project=PROJECT).passed
    assert maintainer.models.promote("churn@1", project=PROJECT).version == 1


def test_a_client_cannot_push_a_verdict(team: Team) -> None:
    team.apply()
    editor = team.client("editor")
    local = Gate(editor).evaluate("churn@1", project=PROJECT, local=True)  # computed here, a passing preview
    assert local.passed and not local.binding
    target = editor.models.get("churn@1", project=PROJECT)
    with pytest.raises(sy.PermissionDenied, match="never by a client"):
        editor.backend.verdicts.add(
            local.id,
            model_version_id=target.id,
            policy_digest=str(local.policy["digest"]),
            dataset_version_id=editor.datasets.get("churn-eval", project=PROJECT).id,
            shipyard_version=sy.__version__,
            passed=True,
            result=local.to_dict(),
            report_digest=None,
            actor="editor",
        )
    assert team.latest(1) is None
    with pytest.raises(sy.GateBlocked):
        team.client("maintainer").models.promote("churn@1", project=PROJECT)


def test_gate_run_local_is_a_preview_that_stores_nothing(team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    team.apply()
    monkeypatch.chdir(team.root)
    env = {"COLUMNS": "200", "NO_COLOR": "1", "SHIPYARD_TOKEN": team.server.token_for("cli", "editor", PROJECT)}
    result = CliRunner(env=env).invoke(
        app, ["--uri", team.server.url, "gate", "run", "churn@1", "--project", PROJECT, "--local"]
    )
    assert result.exit_code == 0, result.output
    assert "gate PREVIEW PASSED" in result.stdout
    assert (team.root / "gate-churn-1.html").is_file()
    assert team.latest(1) is None and team.events("gate.verdict") == []
    failing = CliRunner(env=env).invoke(
        app, ["--uri", team.server.url, "gate", "run", "churn@2", "--project", PROJECT, "--local"]
    )
    assert failing.exit_code == 1
    stored = CliRunner(env=env).invoke(app, ["--uri", team.server.url, "gate", "run", "churn@1", "--project", PROJECT])
    assert stored.exit_code == 0, stored.output
    assert "PREVIEW" not in stored.stdout and team.latest(1) is not None


def test_the_gate_at_a_server_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    with team_on(postgres_url, str(tmp_path / "artifacts"), tmp_path) as on_pg:
        on_pg.apply()
        assert Gate(on_pg.client("editor")).evaluate("churn@1", project=PROJECT).passed
        assert [e.actor for e in on_pg.events("gate.verdict")] == ["erin"]
        assert on_pg.client("maintainer").models.promote("churn@1", project=PROJECT).version == 1
        assert not Gate(on_pg.client("editor")).evaluate("churn@2", project=PROJECT).passed
        with pytest.raises(sy.GateBlocked):
            on_pg.client("maintainer").models.promote("churn@2", project=PROJECT)
