import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import shipyard as sy
from shipyard.backends.local import resolve
from shipyard.core.config import Settings
from shipyard.store import HEAD_REVISION, SqlStore, _engine
from shipyard.store.schema import metadata


def engine_for(settings: dict[str, str]) -> sa.Engine:
    database = resolve(Settings.load(uri=settings["uri"], artifacts=settings["artifacts"])).database
    return _engine.create_engine(database)


def test_migrations_build_exactly_the_declared_schema(empty_store_settings: dict[str, str]) -> None:
    engine = engine_for(empty_store_settings)
    _engine.upgrade(engine)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
    assert _engine.current_revision(engine) == HEAD_REVISION
    engine.dispose()


def test_a_test_store_is_what_the_migrations_build(store_settings: dict[str, str]) -> None:
    """The stores of other tests are copies (tests/_stores.py): the same schema, revision and audit chain."""
    from shipyard.store import audit

    engine = engine_for(store_settings)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert audit.verify(conn).ok
    assert _engine.current_revision(engine) == HEAD_REVISION
    engine.dispose()


def test_the_embedded_store_upgrades_itself_on_open(empty_store_settings: dict[str, str]) -> None:
    settings = empty_store_settings
    client = sy.Client(settings["uri"], artifacts=settings["artifacts"], capture_environment=False)
    assert _engine.current_revision(client.backend.store.engine) == HEAD_REVISION
    client.close()


def older(settings: dict[str, str]) -> str:
    """The store's database URL, with a schema that claims an older revision than the code's."""
    engine = engine_for(settings)
    _engine.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0000'"))
    engine.dispose()
    return resolve(Settings.load(uri=settings["uri"], artifacts=settings["artifacts"])).database


def test_an_older_schema_without_auto_upgrade_says_which_command_to_run(empty_store_settings: dict[str, str]) -> None:
    with pytest.raises(sy.SchemaOutdated, match=r"revision 0000.*shipyard db upgrade"):
        SqlStore.open(older(empty_store_settings), auto_upgrade=False)


@pytest.mark.postgres
def test_a_shared_postgres_store_is_not_upgraded_behind_its_back(postgres_url: str) -> None:
    with pytest.raises(sy.SchemaOutdated, match="shipyard db upgrade"):
        SqlStore.open(older({"uri": postgres_url, "artifacts": "/unused"}))


def test_an_empty_database_is_given_the_schema_even_without_auto_upgrade(empty_store_settings: dict[str, str]) -> None:
    database = resolve(
        Settings.load(uri=empty_store_settings["uri"], artifacts=empty_store_settings["artifacts"])
    ).database
    store = SqlStore.open(database, auto_upgrade=False)
    assert _engine.current_revision(store.engine) == HEAD_REVISION
    store.close()


def test_a_store_newer_than_the_code_is_refused(empty_store_settings: dict[str, str]) -> None:
    engine = engine_for(empty_store_settings)
    _engine.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(sy.SchemaOutdated, match="newer"):
        _engine.ensure_schema(engine, auto_upgrade=True)
    engine.dispose()


def test_upgrading_twice_is_harmless(empty_store_settings: dict[str, str]) -> None:
    engine = engine_for(empty_store_settings)
    _engine.upgrade(engine)
    _engine.upgrade(engine)
    assert _engine.current_revision(engine) == HEAD_REVISION
    engine.dispose()


def test_upgrading_chains_the_audit_events_already_written(empty_store_settings: dict[str, str]) -> None:
    from shipyard.store import audit

    engine = engine_for(empty_store_settings)
    _engine.upgrade(engine, "0008")
    with engine.begin() as conn:
        for n in range(3):
            conn.execute(
                sa.text(
                    "INSERT INTO audit_events (at, actor, action, subject, details) "
                    "VALUES (:at, 'ana', 'run.delete', :subject, '{}')"
                ),
                {"at": 1_700_000_000_000 + n, "subject": f"run:{n}"},
            )
    _engine.upgrade(engine)
    with engine.begin() as conn:
        found = audit.verify(conn)
        assert found.ok and found.events == 3 and found.head_seq == 3
        assert audit.record(conn, "bo", "run.restore", None, "run:0", {}) == 4
        assert audit.verify(conn).ok
    engine.dispose()


def test_dropping_the_points_foreign_key_keeps_every_point_and_its_index(
    empty_store_settings: dict[str, str],
) -> None:
    engine = engine_for(empty_store_settings)
    _engine.upgrade(engine, "0011")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO projects (name, created_at) VALUES ('p', 1)"))
        conn.execute(
            sa.text(
                "INSERT INTO runs (id, project_id, name, status, start_time, heartbeat_at) "
                "VALUES ('r1', (SELECT id FROM projects), 'r', 'running', 1, 1)"
            )
        )
        points = [{"step": s, "value": s / 10} for s in range(50)]
        conn.execute(
            sa.text("INSERT INTO metrics (run_id, key, step, timestamp, value) VALUES ('r1', 'x', :step, 7, :value)"),
            points,
        )
    assert sa.inspect(engine).get_foreign_keys("metrics") != []
    _engine.upgrade(engine)
    assert sa.inspect(engine).get_foreign_keys("metrics") == []
    assert "ix_metrics_history" in {i["name"] for i in sa.inspect(engine).get_indexes("metrics")}
    store = SqlStore(engine)
    assert [(m.step, m.value) for m in store.get_metric_history("r1", "x")] == [(s, s / 10) for s in range(50)]
    engine.dispose()
