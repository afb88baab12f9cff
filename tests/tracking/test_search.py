import subprocess
import sys

import pytest

import shipyard as sy
import shipyard.tracking.default

pytestmark = pytest.mark.over_http  # this suite also runs on the HTTP backend (tests/conftest.py)


@pytest.fixture
def runs(client: sy.Client) -> dict[str, str]:
    """Four finished runs in project churn and one in another project; name → id."""
    ids = {}
    for name, auc, penalty in [("a", 0.95, "l2"), ("b", 0.91, "l1"), ("c", 0.85, "l2"), ("d", 0.97, "l2")]:
        with client.start_run(project="churn", name=name) as run:
            run.log_param("penalty", penalty)
            run.log_metric("auc", auc)
            run.set_tag("team", "risk" if name != "d" else "growth")
        ids[name] = run.id
    with client.start_run(project="other", name="e") as run:
        run.log_metric("auc", 0.99)
    return ids


def names(page: list[sy.RunRecord]) -> list[str]:
    return [r.name for r in page]


def test_the_issue_example(client: sy.Client, runs: dict[str, str]) -> None:
    page = client.search_runs(
        project="churn",
        filter="metrics.auc > 0.9 and params.penalty = 'l2'",
        order_by=["metrics.auc DESC"],
        max_results=50,
    )
    assert names(page) == ["d", "a"]
    assert page[0].params == {"penalty": "l2"} and page[0].metrics == {"auc": 0.97}


def test_default_order_is_newest_first_within_the_project(client: sy.Client, runs: dict[str, str]) -> None:
    assert names(client.search_runs(project="churn")) == ["d", "c", "b", "a"]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("metrics.auc <= 0.91", ["b", "c"]),
        ("metrics.auc != 0.95", ["b", "c", "d"]),
        ("params.penalty != 'l2'", ["b"]),
        ("tags.team LIKE 'gro%'", ["d"]),
        ("tags.team ILIKE 'RISK'", ["a", "b", "c"]),
        ("attributes.name = 'c'", ["c"]),
        ("attributes.status = 'finished' and metrics.auc >= 0.95", ["a", "d"]),
        ("metrics.missing > 0", []),
    ],
)
def test_filters(client: sy.Client, runs: dict[str, str], expr: str, expected: list[str]) -> None:
    assert sorted(names(client.search_runs(project="churn", filter=expr))) == expected


def test_order_by_a_param_then_runs_without_it_last(client: sy.Client, runs: dict[str, str]) -> None:
    with client.start_run(project="churn", name="no-penalty"):
        pass
    page = client.search_runs(project="churn", order_by=["params.penalty", "metrics.auc DESC"])
    assert names(page) == ["b", "d", "a", "c", "no-penalty"]


def test_pages_cover_every_run_once(client: sy.Client, runs: dict[str, str]) -> None:
    seen, token = [], None
    while True:
        page = client.search_runs(project="churn", max_results=3, page_token=token)
        seen += names(page)
        token = page.next_page_token
        if token is None:
            break
    assert seen == ["d", "c", "b", "a"]


def test_without_a_project_every_project_is_searched(client: sy.Client, runs: dict[str, str]) -> None:
    assert names(client.search_runs(filter="metrics.auc > 0.96")) == ["e", "d"]


def test_a_syntax_error_points_at_the_column(client: sy.Client, runs: dict[str, str]) -> None:
    with pytest.raises(sy.FilterSyntaxError) as caught:
        client.search_runs(filter="metrics.auc > 0.9 and params.penalty is 'l2'")
    assert caught.value.column == 38
    assert "^" in str(caught.value)


@pytest.mark.parametrize("bad", [0, -1, 50_001, "10"])
def test_max_results_must_be_in_range(client: sy.Client, bad: object) -> None:
    with pytest.raises(sy.InvalidInput, match="max_results"):
        client.search_runs(max_results=bad)  # type: ignore[arg-type]


def test_a_forged_page_token_is_invalid_input(client: sy.Client) -> None:
    with pytest.raises(sy.InvalidInput, match="page token"):
        client.search_runs(page_token="garbage!")


def test_an_unknown_project_is_not_found_and_lists_the_known(client: sy.Client, runs: dict[str, str]) -> None:
    with pytest.raises(sy.NotFound, match="churn"):
        client.search_runs(project="chrun")


def test_runs_without_the_sorted_value_come_last_in_both_directions(client: sy.Client, runs: dict[str, str]) -> None:
    with client.start_run(project="churn", name="no-auc"):
        pass
    assert names(client.search_runs(project="churn", order_by=["metrics.auc DESC"]))[-1] == "no-auc"
    assert names(client.search_runs(project="churn", order_by=["metrics.auc ASC"]))[-1] == "no-auc"
    open_run = client.start_run(project="churn", name="still-running")  # no end time yet
    assert names(client.search_runs(project="churn", order_by=["attributes.end_time DESC"]))[-1] == "still-running"
    assert names(client.search_runs(project="churn", order_by=["attributes.end_time ASC"]))[-1] == "still-running"
    open_run.end()


def test_two_conditions_on_one_metric_make_a_range(client: sy.Client, runs: dict[str, str]) -> None:
    page = client.search_runs(
        project="churn", filter="metrics.auc > 0.9 and metrics.auc < 0.96", order_by=["metrics.auc"]
    )
    assert names(page) == ["b", "a"]


def test_the_module_level_search_can_include_deleted_runs(client: sy.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shipyard.tracking.default, "_default", client)
    with client.start_run() as run:
        pass
    client.delete_run(run.id)
    assert sy.search_runs() == []
    assert [r.id for r in sy.search_runs(include_deleted=True)] == [run.id]


def test_the_largest_filter_and_order_run_on_the_store(client: sy.Client) -> None:
    # Each comparison on another key and each sort key joins a table; SQLite joins at most 64.
    with client.start_run(project="wide") as run:
        run.log_metrics({f"m{i}": 1.0 for i in range(60)})
    page = client.search_runs(
        project="wide",
        filter=" and ".join(f"metrics.m{i} > 0" for i in range(50)),
        order_by=[f"metrics.m{i} DESC" for i in range(50, 60)],
    )
    assert [r.id for r in page] == [run.id]


def test_a_filter_past_the_limit_is_invalid_input_not_a_store_error(client: sy.Client) -> None:
    with pytest.raises(sy.InvalidInput, match="2,001 comparisons; a filter holds at most 50"):
        client.search_runs(filter=" and ".join("metrics.auc > 0.5" for _ in range(2001)))


def test_the_status_filter_applies_the_rule_the_status_is_shown_by(client: sy.Client) -> None:
    # A run whose process on this host is gone reads crashed at once, before its heartbeat goes stale.
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    killed = client.backend.store.create_run("b" * 32, project="p", name="killed", pid=gone.pid)
    alive = client.start_run(project="p", name="alive")
    assert client.get_run(killed.id).status is sy.RunStatus.CRASHED

    def found(status_filter: str) -> list[str]:
        return names(client.search_runs(project="p", filter=status_filter))

    assert found("attributes.status = 'running'") == ["alive"]
    assert found("attributes.status = 'crashed'") == ["killed"]
    assert found("attributes.status != 'running'") == ["killed"]
    assert found("attributes.status != 'crashed'") == ["alive"]
    alive.end()


def test_a_run_started_between_pages_shifts_nothing(client: sy.Client, runs: dict[str, str]) -> None:
    first = client.search_runs(project="churn", max_results=2)
    with client.start_run(project="churn", name="late"):
        pass
    rest = client.search_runs(project="churn", max_results=2, page_token=first.next_page_token)
    assert names(first) + names(rest) == ["d", "c", "b", "a"]


def test_a_default_order_page_token_does_not_continue_an_ordered_search(
    client: sy.Client, runs: dict[str, str]
) -> None:
    token = client.search_runs(project="churn", max_results=1).next_page_token
    with pytest.raises(sy.InvalidInput, match="default order"):
        client.search_runs(project="churn", order_by=["metrics.auc"], page_token=token)


def test_pages_in_another_order_cover_every_run_once(client: sy.Client, runs: dict[str, str]) -> None:
    seen, token = [], None
    while True:
        page = client.search_runs(project="churn", order_by=["metrics.auc DESC"], max_results=3, page_token=token)
        seen, token = seen + names(page), page.next_page_token
        if token is None:
            break
    assert seen == ["d", "a", "b", "c"]
