from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.cli._output import jsonable
from shipyard.core.entities import ModelVersion
from tests.cli.helpers import Invoke, strict_json

FEATURES = {"age": [23.0, 35.0, 41.0, 58.0, 62.0, 30.0], "spend": [1.5, 2.0, 8.5, 3.0, 9.0, 1.0]}
LABELS = [0, 0, 1, 0, 1, 0]


def log_model(store: shipyard.Client, **options: Any) -> ModelVersion:
    """A LogisticRegression logged as the next version of 'churn', in a run that used 'churn-train'."""
    train = store.datasets.register("churn-train", {**FEATURES, "churned": LABELS})
    model = LogisticRegression().fit(pd.DataFrame(FEATURES), LABELS)
    with store.start_run(name="logreg") as run:
        run.use_dataset(train, role="train")
        return run.log_model(model, "churn", train_data=FEATURES, datasets={"train": train}, **options)


@pytest.fixture
def churn(store: shipyard.Client) -> ModelVersion:
    return log_model(store)


def test_list_shows_latest_version_and_aliases(store: shipyard.Client, churn: ModelVersion, invoke: Invoke) -> None:
    log_model(store)
    store.models.set_alias("churn", 1, "challenger")
    result = invoke("models", "list")
    assert result.exit_code == 0, result.output
    assert "churn" in result.stdout and "challenger→1" in result.stdout
    [model] = strict_json(invoke("models", "list", "--json").stdout)["models"]
    assert (model["latest_version"], model["aliases"]) == (2, {"challenger": 1})


def test_show_describes_the_version(churn: ModelVersion, invoke: Invoke) -> None:
    result = invoke("models", "show", "churn")
    assert result.exit_code == 0, result.output
    for expected in ("churn@1", "sklearn", "active", churn.run_id, "age", "float", "churn-train@1", "scikit-learn"):
        assert str(expected) in result.stdout
    assert "unsafe format  no" in result.stdout


def test_show_warns_about_a_pickled_version(store: shipyard.Client, invoke: Invoke) -> None:
    log_model(store, flavor="python_function")
    result = invoke("models", "show", "churn@1")
    assert result.exit_code == 0, result.output
    assert "loads only with trust_unsafe=True" in result.stdout


def test_show_json_and_versions(store: shipyard.Client, churn: ModelVersion, invoke: Invoke) -> None:
    log_model(store)
    shown = strict_json(invoke("models", "show", "churn@1", "--json").stdout)
    assert shown["signature"]["inputs"][0] == {"name": "age", "type": "float", "nullable": False}
    assert shown["datasets"] == [{"role": "train", "dataset": "churn-train@1"}]
    versions = strict_json(invoke("models", "show", "churn", "--versions", "--json").stdout)["versions"]
    assert [v["version"] for v in versions] == [2, 1]


def test_show_unknown_alias_lists_versions_and_aliases(churn: ModelVersion, invoke: Invoke) -> None:
    result = invoke("models", "show", "churn@staging")
    assert result.exit_code == 2
    assert "no alias 'staging'; its versions are 1" in result.stderr


def test_alias_prints_old_and_new_version(store: shipyard.Client, churn: ModelVersion, invoke: Invoke) -> None:
    log_model(store)
    first = invoke("models", "alias", "churn", "1", "challenger")
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == "challenger: (unset) → churn@1"
    moved = strict_json(invoke("models", "alias", "churn", "2", "challenger", "--json").stdout)
    assert (moved["old_version"], moved["new_version"]) == (1, 2)
    deleted = invoke("models", "alias", "churn", "--delete", "challenger")
    assert deleted.stdout.strip() == "challenger: churn@2 → (deleted)"
    assert store.models.list()[0].aliases == {}


def test_a_protected_alias_is_blocked_by_the_gate(churn: ModelVersion, invoke: Invoke) -> None:
    result = invoke("models", "alias", "churn", "1", "champion")
    assert result.exit_code == 1
    assert "protected alias" in result.stderr and "shipyard gate run churn@1" in result.stderr


@pytest.mark.parametrize("args", [["1", "Champion!"], ["1"], ["1", "challenger", "--delete", "challenger"]])
def test_malformed_alias_commands_exit_2(churn: ModelVersion, invoke: Invoke, args: list[str]) -> None:
    assert invoke("models", "alias", "churn", *args).exit_code == 2


def test_delete_refuses_an_aliased_version(store: shipyard.Client, churn: ModelVersion, invoke: Invoke) -> None:
    store.models.set_alias("churn", 1, "challenger")
    result = invoke("models", "delete", "churn", "1", "--yes")
    assert result.exit_code == 2
    assert "holds the alias(es) challenger" in result.stderr
    store.models.delete_alias("churn", "challenger")
    assert invoke("models", "delete", "churn", "1", "--yes").exit_code == 0
    assert store.models.versions("churn") == []


def test_archive_and_restore(churn: ModelVersion, invoke: Invoke) -> None:
    archived = invoke("models", "archive", "churn", "1")
    assert archived.exit_code == 0, archived.output
    assert strict_json(invoke("models", "show", "churn@1", "--json").stdout)["status"] == "archived"
    assert invoke("models", "restore", "churn", "1").exit_code == 0
    assert strict_json(invoke("models", "show", "churn@1", "--json").stdout)["status"] == "active"


def test_lineage_tree_goes_from_version_to_run_to_data(store: shipyard.Client, invoke: Invoke) -> None:
    version = log_model(store)
    train = store.datasets.get("churn-train@1")
    result = invoke("models", "lineage", "churn@1")
    assert result.exit_code == 0, result.output
    for expected in ("churn@1", f"run {version.run_id}", "logreg", "churn-train@1", train.digest[:19], "6 rows"):
        assert expected in result.stdout
    data = strict_json(invoke("models", "lineage", "churn", "--json").stdout)
    assert data == jsonable(store.lineage("churn").to_dict())
    assert data["run"]["id"] == version.run_id and data["trained_on"][0]["dataset"]["name"] == "churn-train"


def test_audit_lists_alias_moves(store: shipyard.Client, churn: ModelVersion, invoke: Invoke) -> None:
    store.models.set_alias("churn", 1, "challenger")
    result = invoke("models", "audit", "churn")
    assert result.exit_code == 0, result.output
    assert "alias.set" in result.stdout and "model:churn" in result.stdout and "alias=challenger" in result.stdout
    events = strict_json(invoke("models", "audit", "--limit", "1", "--json").stdout)["events"]
    assert [event["action"] for event in events] == ["alias.set"]


@pytest.mark.parametrize("command", [("models", "list"), ("models", "audit")])
def test_listing_an_unknown_project_exits_2_naming_the_known_ones(
    store: shipyard.Client, invoke: Invoke, command: tuple[str, ...]
) -> None:
    log_model(store)
    result = invoke(*command, "--project", "nope")
    assert result.exit_code == 2
    assert "No project named 'nope'" in result.stderr and "default" in result.stderr
