"""Metric points have no foreign key to their run (migration 0012): a write locks its run, a purge locks the
runs it removes, so no point outlives its run and none is written for a run that is gone."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from shipyard.core.errors import NotFound
from shipyard.store import SqlStore
from shipyard.store.schema import metrics

pytestmark = pytest.mark.postgres


def _points(store: SqlStore, run_id: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).where(metrics.c.run_id == run_id)).scalar() or 0)


def _deleted_run(store: SqlStore) -> str:
    run = store.create_run("r1", project="p", name="r")
    store.write(run.id, metrics_=[("loss", 1.0, 0, 1)])
    store.delete_run(run.id)
    return run.id


def test_a_purged_run_takes_no_more_points_and_keeps_none(postgres_url: str) -> None:
    store = SqlStore.open(postgres_url)
    run_id = _deleted_run(store)
    assert store.purge_deleted_runs(deleted_before=2**62) == [run_id]
    with pytest.raises(NotFound, match="No run with id"):
        store.write(run_id, metrics_=[("loss", 2.0, 1, 2)])
    assert _points(store, run_id) == 0
    store.close()


def _waiting_for(store: SqlStore, holder: int) -> bool:
    """Whether a session waits for a lock the session with process id ``holder`` holds (other sessions on
    the database, of other tests or test processes, may wait for locks of their own)."""
    with store.engine.connect() as conn:
        query = "SELECT count(*) FROM pg_stat_activity WHERE %(holder)s = ANY(pg_blocking_pids(pid))"
        return bool(conn.exec_driver_sql(query, {"holder": holder}).scalar())


def test_a_purge_waits_for_a_write_in_flight_and_removes_its_points_too(postgres_url: str) -> None:
    store = SqlStore.open(postgres_url)
    run_id = _deleted_run(store)
    purged: list[str] = []
    with store.engine.connect() as writer, writer.begin():
        holder = int(writer.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
        # a write in flight: the run checked (and locked) and its points inserted, not yet committed
        store._require_writable(writer, run_id)
        store._write_metrics(writer, run_id, [("loss", 2.0, 1, 2), ("loss", 3.0, 2, 3)])
        purge = threading.Thread(target=lambda: purged.extend(store.purge_deleted_runs(deleted_before=2**62)))
        purge.start()
        for _ in range(2_000):  # the purge blocks on the run's lock (polled, not slept on)
            if _waiting_for(store, holder):
                break
        else:
            pytest.fail("the purge did not wait for the write in flight")
        assert purged == []
    purge.join(timeout=60)
    assert purged == [run_id]
    assert _points(store, run_id) == 0  # the points committed while the purge waited went with the run
    store.close()
