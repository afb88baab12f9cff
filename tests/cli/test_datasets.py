from __future__ import annotations

import shipyard
from tests.cli.helpers import Invoke, log_run, strict_json

TRAIN = {
    "age": [23, 35, 41, 58, None],
    "plan": ["basic", "pro", "basic", "basic", "pro"],
    "spend": [1.5, 2.0, 8.5, 3.0, 4.0],
}


def test_list_shows_the_newest_version_of_each_dataset(store: shipyard.Client, invoke: Invoke) -> None:
    store.datasets.register("churn-train", TRAIN)
    store.datasets.register("churn-train", {**TRAIN, "spend": [1.0] * 5})
    store.datasets.register("churn-eval", {"age": [30]})
    result = invoke("datasets", "list")
    assert result.exit_code == 0, result.output
    train_line = next(line for line in result.stdout.splitlines() if "churn-train" in line)
    assert train_line.split()[1:4] == ["2", "5", "3"]  # version, rows, columns
    assert [item["version"] for item in strict_json(invoke("datasets", "list", "--json").stdout)["datasets"]] == [1, 2]


def test_list_of_an_empty_project_says_how_to_register(store: shipyard.Client, invoke: Invoke) -> None:
    log_run(store, "a", {}, {})  # creates the project 'churn', with no dataset in it
    for args in (["--project", "churn"], []):  # named, or the configured one that nothing created yet
        result = invoke("datasets", "list", *args)
        assert result.exit_code == 0, result.output
        assert "sy.datasets.register" in result.stdout
    assert "project 'churn'" in invoke("datasets", "list", "--project", "churn").stdout


def test_list_of_an_unknown_project_exits_2_naming_the_known_ones(store: shipyard.Client, invoke: Invoke) -> None:
    log_run(store, "a", {}, {})
    result = invoke("datasets", "list", "--project", "chrun")
    assert result.exit_code == 2
    assert result.stderr == invoke("runs", "list", "--project", "chrun").stderr
    assert "No project named 'chrun'. Did you mean 'churn'?" in result.stderr


def test_list_refuses_a_project_and_all_projects_together(invoke: Invoke) -> None:
    result = invoke("datasets", "list", "--project", "churn", "--all-projects")
    assert result.exit_code == 2
    assert "not both" in result.output


def test_show_is_one_table_of_schema_and_profile(store: shipyard.Client, invoke: Invoke) -> None:
    version = store.datasets.register("churn-train", TRAIN)
    result = invoke("datasets", "show", "churn-train")
    assert result.exit_code == 0, result.output
    assert "churn-train@1" in result.stdout and version.digest in result.stdout
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.split()[:1] in (["age"], ["plan"])}
    assert rows["age"].split()[1:5] == ["integer", "yes", "1", "(20.0%)"]  # type, nullable, nulls and their share
    assert "basic (3), pro (2)" in rows["plan"]  # a string column's top values
    for header in ("distinct", "min", "max", "mean", "std", "p50"):
        assert header in result.stdout


def test_show_json_is_the_dataset_version_with_its_profile(store: shipyard.Client, invoke: Invoke) -> None:
    store.datasets.register("churn-train", TRAIN)
    shown = strict_json(invoke("datasets", "show", "churn-train@1", "--json").stdout)
    assert (shown["name"], shown["version"], shown["rows"]) == ("churn-train", 1, 5)
    assert [column["name"] for column in shown["profile"]["columns"]] == ["age", "plan", "spend"]
    assert shown["profile"]["columns"][0]["nulls"] == 1


def test_show_unknown_version_exits_2_and_lists_the_versions(store: shipyard.Client, invoke: Invoke) -> None:
    store.datasets.register("churn-train", TRAIN)
    store.datasets.register("churn-train", {"age": [1]})
    result = invoke("datasets", "show", "churn-train@7")
    assert result.exit_code == 2
    assert "no version 7; its versions are 1, 2" in result.stderr


def test_show_versions_lists_every_version(store: shipyard.Client, invoke: Invoke) -> None:
    store.datasets.register("churn-train", TRAIN)
    store.datasets.register("churn-train", {"age": [1]})
    versions = strict_json(invoke("datasets", "show", "churn-train", "--versions", "--json").stdout)["versions"]
    assert [(v["version"], v["rows"]) for v in versions] == [(2, 1), (1, 5)]
    assert invoke("datasets", "show", "churn-train@1", "--versions").exit_code == 2


def test_lineage_lists_the_runs_that_used_a_version(store: shipyard.Client, invoke: Invoke) -> None:
    version = store.datasets.register("churn-train", TRAIN)
    with store.start_run(name="explore") as run:
        run.use_dataset(version, role="train")
    result = invoke("datasets", "lineage", "churn-train@1")
    assert result.exit_code == 0, result.output
    assert run.id in result.stdout and "explore" in result.stdout and "no model version" in result.stdout
    data = strict_json(invoke("datasets", "lineage", "churn-train", "--json").stdout)
    assert [(item["role"], item["run"]["id"]) for item in data["runs"]] == [("train", run.id)]


def test_a_version_beyond_the_stores_range_exits_2_naming_the_reference(store: shipyard.Client, invoke: Invoke) -> None:
    store.datasets.register("churn-train", TRAIN)
    for command in ("show", "lineage"):
        result = invoke("datasets", command, "churn-train@99999999999999999999999")
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error: A dataset version is a number from 1 to 9223372036854775807")
        assert "'churn-train@99999999999999999999999'" in result.stderr and len(result.stderr.splitlines()) == 1
