from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

import shipyard as sy
from shipyard.store import SqlStore, _engine


def test_an_unreachable_database_is_a_store_error_naming_it() -> None:
    with pytest.raises(
        sy.StoreError, match=r"127\.0\.0\.1:1/nowhere.* could not be used: .*Connection refused.*database is running"
    ):
        SqlStore.open("postgresql+psycopg://nobody@127.0.0.1:1/nowhere?connect_timeout=2")


@pytest.mark.local_only("reads the deletion time from the local database")
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


def _truncate_to_half(db: Path) -> None:
    with open(db, "r+b") as f:
        f.truncate(db.stat().st_size // 2)


def _garbage_header(db: Path) -> None:
    with open(db, "r+b") as f:
        f.write(b"garbage garbage!")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [(_truncate_to_half, "database disk image is malformed"), (_garbage_header, "file is not a database")],
)
def test_a_damaged_sqlite_database_is_a_one_line_store_error_saying_what_to_do(
    tmp_path: Path, damage: Callable[[Path], None], reason: str
) -> None:
    client = sy.Client(str(tmp_path / ".shipyard"), capture_environment=False)
    for _ in range(20):  # enough pages that half a file is missing some
        with client.start_run(project="p") as run:
            run.log_params({f"p{i}": "x" * 200 for i in range(20)})
    client.close()
    damage(tmp_path / ".shipyard" / "shipyard.db")
    with pytest.raises(sy.StoreError) as raised:
        sy.Client(str(tmp_path / ".shipyard"), capture_environment=False).search_runs("p")
    message = str(raised.value)
    assert f"shipyard.db could not be used: {reason}. shipyard.db is damaged" in message
    assert "Restore it from a backup" in message and "PRAGMA integrity_check" in message
    assert "\n" not in message


@pytest.mark.postgres
def test_a_pooled_postgres_connection_the_server_dropped_is_replaced(
    postgres_url: str, postgres_admin: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A connection is pinged when it sat in the pool for PING_AFTER_IDLE_S (one in constant use is not):
    # here every connection counts as having sat long enough.
    monkeypatch.setattr(_engine, "PING_AFTER_IDLE_S", 0.0)
    store = SqlStore.open(postgres_url)
    with store.engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    with postgres_admin.connect() as admin:
        admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    assert store.list_projects() == []  # the dead connection is noticed before use, not reported as a StoreError
    store.close()
