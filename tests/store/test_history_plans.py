"""A downsampled history reads the metric index in step ranges: no table scan, no sort of the history.

bench/growth.py measures the cost at 100k-10M points and prints the plans at that size; these pin that the
index can serve every part of the statement on both databases.
"""

import re
from typing import Any

import pytest
import sqlalchemy as sa

import shipyard as sy


def history_plan(client: sy.Client, run_id: str, max_points: int) -> str:
    """The plan of the statement ``get_metric_history(..., max_points=...)`` runs to pick the points."""
    engine, seen = client.backend.store.engine, []

    def hook(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", hook)
    try:
        got = client.get_metric_history(run_id, "loss", max_points=max_points)
    finally:
        sa.event.remove(engine, "before_cursor_execute", hook)
    assert len(got) <= max_points
    statement, parameters = next((s, p) for s, p in seen if "VALUES" in s)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return "\n".join(str(row[3]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
        # A few hundred rows make a sequential scan cheapest; forbid it to see what the index can serve.
        conn.exec_driver_sql("SET enable_seqscan = off")
        conn.exec_driver_sql("SET enable_bitmapscan = off")
        return "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN (COSTS OFF) " + statement, parameters))


@pytest.fixture
def run_id(client: sy.Client) -> str:
    with client.start_run(project="p", name="long") as run:
        run.log_batch(metrics=[("loss", 1.0 / (1 + s), s) for s in range(500)])
        run.log_metric("other", 1.0)
    return run.id


@pytest.mark.local_only("asks the local database for its query plan")
def test_a_downsampled_history_reads_only_index_ranges(client: sy.Client, run_id: str) -> None:
    plan = history_plan(client, run_id, 40)
    if client.backend.store.engine.dialect.name == "sqlite":
        assert re.search(r"SEARCH m USING COVERING INDEX ix_metrics_history \(run_id=\? AND key=\? AND step>", plan)
        assert not re.search(r"SCAN (m|metrics)\b", plan), plan
        assert "SEARCH m USING INDEX" not in plan  # covering: never the table
    else:
        assert "Index Only Scan using ix_metrics_history on metrics" in plan
        assert not re.search(r"(Seq|Bitmap Heap) Scan on metrics|Index Scan using \w+ on metrics", plan), plan
