"""Fresh metadata stores at the head revision without running the migrations for every test.

Running Alembic's eleven migrations costs a quarter of a second per store (half of a short test), so the
test session migrates once per database kind and every test then gets a copy:

* SQLite: :func:`sqlite_template` is a database file the migrations built (and a closed store left
  checkpointed), which :func:`copy_sqlite` copies to where a store folder keeps ``shipyard.db``.
* PostgreSQL: :func:`record_postgres_migrations` runs the migrations into a schema of their own and records
  every statement that changed it, in order; :meth:`PostgresTemplate.replay` runs them again into a new
  schema, in one transaction, in a few round trips. A :class:`SchemaPool` does that on a thread of its own,
  a schema or two ahead of the tests, and drops each test's schema after it, behind them: the database's
  work overlaps the tests' own (about 0.1 s a schema, more on a busy machine).

Either way the copy is what ``shipyard db upgrade`` builds (tests/store/test_migrations.py compares them),
and the migrations themselves keep their own tests, which start from empty stores (``empty_store_settings``).
"""

from __future__ import annotations

import queue
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from shipyard.store import HEAD_REVISION, SqlStore, _engine


def schema_url(base: str, schema: str) -> str:
    """``base`` with its connections' search path set to ``schema``."""
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options={quote(f'-csearch_path={schema}')}"


def sqlite_template(folder: Path) -> Path:
    """A database file at the head revision, built by the migrations in ``folder``."""
    database = folder / "shipyard.db"
    store = SqlStore.open(f"sqlite:///{database}")
    revision = _engine.current_revision(store.engine)
    store.close()  # the last connection checkpoints the WAL into the file and removes it
    assert revision == HEAD_REVISION, revision
    assert not database.with_name("shipyard.db-wal").exists(), "the template kept a WAL file"
    return database


def copy_sqlite(template: Path, store_folder: Path) -> None:
    """Put a copy of ``template`` where the store in ``store_folder`` (a ``.shipyard`` folder) keeps its database."""
    store_folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, store_folder / "shipyard.db")


@dataclass(frozen=True)
class PostgresTemplate:
    """What the migrations did to an empty schema, as batches of statements to do again in another."""

    batches: tuple[tuple[str, Any], ...]
    """(SQL, its parameters): None for a script of plain statements, a list for an executemany."""

    def replay(self, engine: sa.Engine, schema: str) -> None:
        """Create ``schema`` and bring it to the head revision, in one transaction."""
        with engine.begin() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            cursor.execute(f'CREATE SCHEMA "{schema}"; SET LOCAL search_path TO "{schema}"')
            for sql, parameters in self.batches:
                if parameters is None:
                    cursor.execute(sql)
                elif isinstance(parameters, list):
                    cursor.executemany(sql, parameters)
                else:
                    cursor.execute(sql, parameters)


def record_postgres_migrations(base_url: str, admin: sa.Engine, schema: str) -> PostgresTemplate:
    """Run the migrations into the new schema ``schema`` (dropped again) and record what they changed."""
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = _engine.create_engine(schema_url(base_url, schema))
    recorded: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            return  # reads (the migration lock, Alembic's look at its version table, data to convert)
        if many:
            recorded.append((statement, [dict(row) for row in parameters]))
        else:
            recorded.append((statement, dict(parameters) if parameters else None))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        _engine.upgrade(engine)
        assert _engine.current_revision(engine) == HEAD_REVISION
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    return PostgresTemplate(tuple(_batches(recorded, schema)))


def _batches(recorded: list[tuple[str, Any]], schema: str) -> Iterator[tuple[str, Any]]:
    """Consecutive statements without parameters joined into one script (sent in one round trip)."""
    script: list[str] = []
    for statement, parameters in recorded:
        assert schema not in statement and schema not in repr(parameters), f"names its schema: {statement}"
        if parameters == []:
            continue  # an executemany of no rows
        if parameters is None and "%" not in statement:
            script.append(statement.strip().rstrip(";"))
            continue
        if script:
            yield ";\n".join(script), None
            script = []
        yield statement, parameters or {}
    if script:
        yield ";\n".join(script), None


def new_schema_name() -> str:
    return f"shipyard_test_{uuid.uuid4().hex[:12]}"


class SchemaPool:
    """Schemas at the head revision, made ahead of the tests on a thread, and dropped after them there."""

    AHEAD = 2
    """Schemas kept ready: one for the next test, one more for a test that takes two stores."""

    def __init__(self, template: PostgresTemplate, engine: sa.Engine) -> None:
        self._template = template
        self._engine = engine.execution_options(isolation_level="READ COMMITTED")
        self._work: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="schema-pool", daemon=True)
        self._thread.start()
        for _ in range(self.AHEAD):
            self._work.put(("make", new_schema_name()))

    def take(self) -> str:
        """A new schema at the head revision (made by now, or waited for), for one test."""
        self._work.put(("make", new_schema_name()))  # for a later test
        try:
            made = self._ready.get(timeout=300)
        except queue.Empty:
            raise RuntimeError(
                "No PostgreSQL schema was made for this test within 5 minutes: is the database stuck on a lock "
                "(a connection an earlier test left open in a transaction)?"
            ) from None
        if isinstance(made, BaseException):
            raise made
        return made

    def give_back(self, schema: str) -> None:
        """Drop ``schema``, with everything in it, once the schemas asked for before it are made."""
        self._work.put(("drop", schema))

    def close(self) -> None:
        """Drop the schemas no test took, after the work asked for, then stop the thread."""
        self._work.put(None)
        self._thread.join(300)
        while not self._ready.empty():
            made = self._ready.get()
            if isinstance(made, str):
                self._drop(made)

    def _run(self) -> None:
        while (task := self._work.get()) is not None:
            action, schema = task
            try:
                if action == "make":
                    self._template.replay(self._engine, schema)
                else:
                    self._drop(schema)
            except Exception as exc:  # the test that takes the schema (for a drop: the next one) fails with it
                what = "making a schema for this test" if action == "make" else f"dropping an earlier test's {schema}"
                error = RuntimeError(f"The schema pool failed {what}: {type(exc).__name__}: {exc}")
                error.__cause__ = exc
                self._ready.put(error)
            else:
                if action == "make":
                    self._ready.put(schema)

    def _drop(self, schema: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
