from __future__ import annotations

import math

import pytest

import shipyard
from shipyard.cli import _output
from tests.cli.helpers import Invoke, log_run, strict_json


def test_list_shows_full_ids_names_and_common_metrics(store: shipyard.Client, invoke: Invoke) -> None:
    first = log_run(store, "gbm", {"lr": 0.1}, {"auc": 0.91})
    second = log_run(store, "logreg", {"lr": 0.2}, {"auc": 0.85})
    result = invoke("runs", "list")
    assert result.exit_code == 0, result.output
    assert first in result.stdout and second in result.stdout
    assert "gbm" in result.stdout and "finished" in result.stdout
    assert "auc" in result.stdout and "0.91" in result.stdout


def test_list_json_is_runs_and_next_page_token(store: shipyard.Client, invoke: Invoke) -> None:
    ids = [log_run(store, f"r{i}", {}, {"auc": i / 10}) for i in range(3)]
    result = invoke("runs", "list", "--json", "--max-results", "2")
    page = strict_json(result.stdout)
    assert [run["id"] for run in page["runs"]] == ids[::-1][:2]
    rest = strict_json(invoke("runs", "list", "--json", "--page-token", page["next_page_token"]).stdout)
    assert [run["id"] for run in rest["runs"]] == [ids[0]] and rest["next_page_token"] is None


def test_list_filters_and_orders(store: shipyard.Client, invoke: Invoke) -> None:
    log_run(store, "low", {}, {"auc": 0.5})
    good = log_run(store, "mid", {}, {"auc": 0.8})
    best = log_run(store, "high", {}, {"auc": 0.9})
    result = invoke("runs", "list", "--json", "--filter", "metrics.auc > 0.7", "--order-by", "metrics.auc DESC")
    assert [run["id"] for run in strict_json(result.stdout)["runs"]] == [best, good]


def test_filter_syntax_error_exits_2_and_points_at_the_column(invoke: Invoke) -> None:
    result = invoke("runs", "list", "--filter", "metrics.auc >> 3")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "column 14" in result.stderr
    assert "  metrics.auc >> 3\n               ^" in result.stderr


def test_unknown_project_says_which_exist(store: shipyard.Client, invoke: Invoke) -> None:
    log_run(store, "gbm", {}, {})
    result = invoke("runs", "list", "--project", "chrn")
    assert result.exit_code == 2
    assert "Did you mean 'churn'?" in result.stderr


def test_metrics_that_are_nan_or_infinite_stay_valid_json(store: shipyard.Client, invoke: Invoke) -> None:
    run_id = log_run(store, "diverged", {}, {"loss": math.nan, "grad": math.inf})
    for args in (["runs", "list", "--json"], ["runs", "show", run_id, "--json"]):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        metrics = strict_json(result.stdout)
        metrics = metrics["runs"][0]["metrics"] if "runs" in metrics else metrics["metrics"]
        assert metrics == {"loss": "NaN", "grad": "Infinity"}


def test_show_lists_params_metrics_tags_and_artifacts(store: shipyard.Client, invoke: Invoke, tmp_path) -> None:
    (tmp_path / "roc.txt").write_text("curve")
    with store.start_run(project="churn", name="gbm", tags={"team": "risk"}) as run:
        run.log_params({"depth": 6})
        run.log_metric("auc", 0.93)
        run.log_artifact(tmp_path / "roc.txt", "plots/roc.txt")
    result = invoke("runs", "show", run.id)
    assert result.exit_code == 0, result.output
    for expected in (run.id, "depth", "6", "auc", "0.93", "team", "risk", "plots/roc.txt", "5 B", "sha256:"):
        assert expected in result.stdout


def test_show_json_includes_artifacts(store: shipyard.Client, invoke: Invoke, tmp_path) -> None:
    (tmp_path / "model.bin").write_bytes(b"\x00" * 10)
    with store.start_run(project="churn") as run:
        run.log_artifact(tmp_path / "model.bin")
    shown = strict_json(invoke("runs", "show", run.id, "--json").stdout)
    assert shown["id"] == run.id
    assert [(a["path"], a["size"]) for a in shown["artifacts"]] == [("model.bin", 10)]


def test_show_unknown_run_exits_2_with_a_hint(invoke: Invoke) -> None:
    result = invoke("runs", "show", "0" * 32)
    assert result.exit_code == 2
    assert "No run with id" in result.stderr and "shipyard runs list" in result.stderr


def test_show_malformed_id_exits_2(invoke: Invoke) -> None:
    result = invoke("runs", "show", "abc123")
    assert result.exit_code == 2
    assert "32 lowercase hexadecimal characters" in result.stderr


def test_compare_shows_params_side_by_side_and_metric_deltas(store: shipyard.Client, invoke: Invoke) -> None:
    a = log_run(store, "a", {"lr": 0.1, "depth": 6}, {"auc": 0.90})
    b = log_run(store, "b", {"lr": 0.2, "depth": 6}, {"auc": 0.95})
    result = invoke("runs", "compare", a, b)
    assert result.exit_code == 0, result.output
    assert "params.lr" in result.stdout and "metrics.auc" in result.stdout
    assert "0.95 (+0.05)" in result.stdout


def test_compare_json_marks_differing_params(store: shipyard.Client, invoke: Invoke) -> None:
    a = log_run(store, "a", {"lr": 0.1, "depth": 6}, {"auc": 0.5})
    b = log_run(store, "b", {"lr": 0.2, "depth": 6}, {"auc": math.nan})
    data = strict_json(invoke("runs", "compare", a, b, "--json").stdout)
    assert {row["key"]: row["differs"] for row in data["params"]} == {"depth": False, "lr": True}
    assert data["metrics"] == [{"key": "auc", "values": [0.5, "NaN"], "deltas": [None, "NaN"], "differs": True}]


def test_compare_needs_two_runs(store: shipyard.Client, invoke: Invoke) -> None:
    result = invoke("runs", "compare", log_run(store, "a", {}, {}))
    assert result.exit_code == 2
    assert "at least two run ids" in result.output


def test_delete_hides_a_run_and_restore_brings_it_back(store: shipyard.Client, invoke: Invoke) -> None:
    run_id = log_run(store, "gbm", {}, {})
    deleted = invoke("runs", "delete", run_id, "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert f"shipyard runs restore {run_id}" in deleted.stdout and "shipyard gc" in deleted.stdout
    assert strict_json(invoke("runs", "list", "--json").stdout)["runs"] == []
    assert invoke("runs", "restore", run_id).exit_code == 0
    assert [run["id"] for run in strict_json(invoke("runs", "list", "--json").stdout)["runs"]] == [run_id]


def test_delete_asks_first_and_declining_changes_nothing(
    store: shipyard.Client, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_output, "stdin_is_terminal", lambda: True)
    run_id = log_run(store, "gbm", {}, {})
    result = invoke("runs", "delete", run_id, input="n\n")
    assert result.exit_code == 1
    assert f"Delete 1 run: gbm ({run_id})? [y/N]" in result.stderr and "Nothing deleted" in result.stderr
    assert not store.get_run(run_id).deleted


def test_delete_without_yes_refuses_at_once_when_stdin_is_not_a_terminal(
    store: shipyard.Client, invoke: Invoke
) -> None:
    run_id = log_run(store, "gbm", {}, {})
    result = invoke("runs", "delete", run_id)  # CliRunner's stdin is no terminal, as with </dev/null or in CI
    assert result.exit_code == 2
    assert (
        result.stderr == "error: Cannot ask whether to delete 1 run: stdin is not a terminal. Pass --yes to go ahead.\n"
    )
    assert not store.get_run(run_id).deleted


def test_delete_checks_every_id_before_deleting_any(store: shipyard.Client, invoke: Invoke) -> None:
    run_id = log_run(store, "gbm", {}, {})
    result = invoke("runs", "delete", run_id, "f" * 32, "--yes")
    assert result.exit_code == 2
    assert not store.get_run(run_id).deleted


def test_list_deleted_includes_deleted_runs(store: shipyard.Client, invoke: Invoke) -> None:
    run_id = log_run(store, "gbm", {}, {})
    store.delete_run(run_id)
    result = invoke("runs", "list", "--deleted")
    assert run_id in result.stdout and "deleted" in result.stdout
