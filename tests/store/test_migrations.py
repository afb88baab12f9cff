import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import shipyard as sy
from shipyard.backends.local import resolve
from shipyard.core.config import Settings
from shipyard.store import HEAD_REVISION, SqlStore, _engine
from shipyard.store.schema import metadata


def engine_for(store_settings: dict[str, str]) -> sa.Engine:
    database = resolve(Settings.load(uri=store_settings["uri"], artifacts=store_settings["artifacts"])).database
    return _engine.create_engine(database)


def test_migrations_build_exactly_the_declared_schema(store_settings: dict[str, str]) -> None:
    engine = engine_for(store_settings)
    _engine.upgrade(engine)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
    assert _engine.current_revision(engine) == HEAD_REVISION
    engine.dispose()


@pytest.mark.local_only("reads the schema revision of the local database")
def test_the_embedded_store_upgrades_itself_on_open(client: sy.Client) -> None:
    assert _engine.current_revision(client.backend.store.engine) == HEAD_REVISION


def older(store_settings: dict[str, str]) -> str:
    """The store's database URL, with a schema that claims an older revision than the code's."""
    engine = engine_for(store_settings)
    _engine.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0000'"))
    engine.dispose()
    return resolve(Settings.load(uri=store_settings["uri"], artifacts=store_settings["artifacts"])).database


def test_an_older_schema_without_auto_upgrade_says_which_command_to_run(store_settings: dict[str, str]) -> None:
    with pytest.raises(sy.SchemaOutdated, match=r"revision 0000.*shipyard db upgrade"):
        SqlStore.open(older(store_settings), auto_upgrade=False)


@pytest.mark.postgres
def test_a_shared_postgres_store_is_not_upgraded_behind_its_back(postgres_url: str) -> None:
    with pytest.raises(sy.SchemaOutdated, match="shipyard db upgrade"):
        SqlStore.open(older({"uri": postgres_url, "artifacts": "/unused"}))


def test_an_empty_database_is_given_the_schema_even_without_auto_upgrade(store_settings: dict[str, str]) -> None:
    database = resolve(Settings.load(uri=store_settings["uri"], artifacts=store_settings["artifacts"])).database
    store = SqlStore.open(database, auto_upgrade=False)
    assert _engine.current_revision(store.engine) == HEAD_REVISION
    store.close()


def test_a_store_newer_than_the_code_is_refused(store_settings: dict[str, str]) -> None:
    engine = engine_for(store_settings)
    _engine.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(sy.SchemaOutdated, match="newer"):
        _engine.ensure_schema(engine, auto_upgrade=True)
    engine.dispose()


def test_upgrading_twice_is_harmless(store_settings: dict[str, str]) -> None:
    engine = engine_for(store_settings)
    _engine.upgrade(engine)
    _engine.upgrade(engine)
    assert _engine.current_revision(engine) == HEAD_REVISION
    engine.dispose()


def test_upgrading_chains_the_audit_events_already_written(store_settings: dict[str, str]) -> None:
    from shipyard.store import audit

    engine = engine_for(store_settings)
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
