from pathlib import Path

import pytest

import shipyard as sy
from shipyard.store import _engine


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    engine = _engine.create_engine(f"sqlite:///{tmp_path / 'x.db'}", busy_timeout=7.5, synchronous="FULL")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 7500
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_a_bad_store_url_is_a_store_error() -> None:
    with pytest.raises(sy.StoreError, match="Cannot parse"):
        _engine.create_engine("::not a url::")


def test_metric_search_and_history_reads_are_index_only(tmp_path: Path) -> None:
    client = sy.Client(str(tmp_path / ".shipyard"), capture_environment=False)
    with client.backend.store.engine.connect() as conn:
        search = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT run_id FROM latest_metrics WHERE key = 'auc' AND value > 0.5"
        ).all()
        history = conn.exec_driver_sql(
            client.backend.store._history_sql.replace("SELECT", "EXPLAIN QUERY PLAN SELECT", 1), ("k", "r", "k")
        ).all()
    assert "ix_latest_metrics_key_value" in str(search)
    assert "COVERING INDEX ix_metrics_history" in str(history)
    assert "TEMP B-TREE" not in str(history)
    client.close()
