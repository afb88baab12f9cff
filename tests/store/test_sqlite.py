from pathlib import Path

import pytest

import shipyard as sy
from shipyard.store import _engine
from tests.artifacts.readonly import read_only


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


def test_a_store_in_a_read_only_folder_can_be_read_but_not_changed(tmp_path: Path) -> None:
    folder = tmp_path / ".shipyard"
    writer = sy.Client(str(folder), capture_environment=False)
    with writer.start_run(project="p") as run:
        run.log_metric("auc", 0.9)
    writer.close()  # the last connection checkpoints the WAL into shipyard.db and removes it
    assert sorted(p.name for p in folder.iterdir()) == ["shipyard.db"]
    with read_only(folder):
        client = sy.Client(str(folder), capture_environment=False)
        assert [r.metrics["auc"] for r in client.search_runs("p")] == [0.9]
        with pytest.raises(
            sy.StoreError, match=r"read-only to this process .* make .*\.shipyard and shipyard\.db writable"
        ):
            client.start_run(project="p")
        client.close()


@pytest.mark.parametrize("loss", ["zero bytes", "deleted"])
def test_a_lost_database_beside_stored_blobs_is_refused_not_recreated(tmp_path: Path, loss: str) -> None:
    folder = tmp_path / ".shipyard"
    (tmp_path / "model.bin").write_bytes(b"weights")
    client = sy.Client(str(folder), capture_environment=False)
    with client.start_run() as run:
        run.log_artifact(tmp_path / "model.bin")
    client.close()
    for name in ("shipyard.db-wal", "shipyard.db-shm"):
        (folder / name).unlink(missing_ok=True)
    if loss == "deleted":
        (folder / "shipyard.db").unlink()
    else:
        (folder / "shipyard.db").write_bytes(b"")
    for _ in range(2):  # and it stays refused: the empty file is not given a schema on the way
        with pytest.raises(
            sy.StoreError,
            match=r"shipyard\.db is missing or empty .* holds blobs: .* Restore shipyard\.db from a backup",
        ):
            sy.Client(str(folder), capture_environment=False)
    assert len(list((folder / "artifacts" / "blobs").rglob("*"))) == 2
