"""Search reads its index in order and stops at the page: its cost does not grow with the runs that match.

bench/growth.py measures the curve; these pin the SQLite plans that make it flat.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import shipyard as sy

STATS = [
    ("projects", "sqlite_autoindex_projects_1", "1 1"),
    ("runs", "ix_runs_parent", "1000000 1000000"),
    ("runs", "ix_runs_project_start", "1000000 1000000 1"),
    ("runs", "sqlite_autoindex_runs_1", "1000000 1"),
    ("latest_metrics", "ix_latest_metrics_key_value", "1000000 1000000 1"),
    ("latest_metrics", "sqlite_autoindex_latest_metrics_1", "1000000 1 1"),
]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[sy.Client]:
    made = sy.Client(str(tmp_path / ".shipyard"), capture_environment=False)
    for i in range(5):
        with made.start_run(project="p", name=f"r{i}") as run:
            run.log_metric("auc", i / 5)
    # The statistics ``ANALYZE`` (or the ``PRAGMA optimize`` SQLite advises) writes for one project of 1M runs
    # with one metric each. With them the planner once put the one-row projects table in the outer loop and
    # sorted every matching run: seconds at 1M runs.
    engine = made.backend.store.engine
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.exec_driver_sql("DELETE FROM sqlite_stat1")
        conn.exec_driver_sql(
            "INSERT INTO sqlite_stat1 VALUES " + ", ".join(f"('{t}', '{i}', '{s}')" for t, i, s in STATS)
        )
        conn.commit()
    engine.dispose()  # a connection reads the statistics when it opens
    yield made
    made.close()


def search_plan(client: sy.Client, **search: Any) -> str:
    """SQLite's plan for the statement ``search_runs(**search)`` runs to pick the page."""
    engine, seen = client.backend.store.engine, []

    def hook(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", hook)
    try:
        client.search_runs("p", max_results=2, **search)
    finally:
        sa.event.remove(engine, "before_cursor_execute", hook)
    statement, parameters = next((s, p) for s, p in seen if "LIMIT" in s)
    with engine.connect() as conn:
        return str(conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all())


def test_a_metric_search_walks_the_value_index_and_sorts_only_ties(client: sy.Client) -> None:
    plan = search_plan(client, filter="metrics.auc > 0.1", order_by=["metrics.auc DESC"])
    assert "ix_latest_metrics_key_value" in plan
    assert "TEMP B-TREE FOR ORDER BY" not in plan  # "FOR RIGHT PART OF ORDER BY" (the ties) is fine


def test_the_runs_page_walks_the_start_time_index(client: sy.Client) -> None:
    plan = search_plan(client)
    assert "ix_runs_project_start" in plan
    assert "TEMP B-TREE FOR ORDER BY" not in plan


def test_a_run_still_reads_its_project_name(client: sy.Client) -> None:
    page = client.search_runs("p", max_results=1)
    assert page[0].project == "p" and client.get_run(page[0].id).project == "p"


def test_the_next_page_starts_in_the_index_where_the_last_one_ended(client: sy.Client) -> None:
    token = client.search_runs("p", max_results=2).next_page_token
    plan = search_plan(client, page_token=token)
    assert "ix_runs_project_start (project_id=? AND start_time<?)" in plan
    assert "TEMP B-TREE FOR ORDER BY" not in plan
