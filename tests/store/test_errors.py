import pytest

import shipyard as sy
from shipyard.store import SqlStore


def test_an_unreachable_database_is_a_store_error_naming_it() -> None:
    with pytest.raises(
        sy.StoreError, match=r"127\.0\.0\.1:1/nowhere.* could not be used: .*Connection refused.*database is running"
    ):
        SqlStore.open("postgresql+psycopg://nobody@127.0.0.1:1/nowhere?connect_timeout=2")


def test_deleting_twice_keeps_the_first_deletion_time(client: sy.Client) -> None:
    with client.start_run() as run:
        pass
    client.delete_run(run.id)
    store = client.backend.store
    with store.engine.connect() as conn:
        first = conn.exec_driver_sql("SELECT deleted_at FROM runs").scalar()
    client.delete_run(run.id)
    assert store.purgeable_runs(deleted_before=first) == [run.id]
    assert store.purgeable_runs(deleted_before=first - 1) == []
