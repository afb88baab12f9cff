"""What every part of the metadata store shares: the engine, transactions, projects and errors.

Writes run in one transaction each (IMMEDIATE on SQLite, so concurrent writers queue rather than
fail); bulk rows go through executemany. Reads never take the write lock.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from shipyard.core.errors import NotFound
from shipyard.store import _engine
from shipyard.store.schema import projects

IN_CHUNK = 500


def now_ms() -> int:
    return int(time.time() * 1000)


class StoreBase:
    """An engine plus the transaction helpers and the project table every store part uses."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        # PostgreSQL (READ COMMITTED) gives each statement its own snapshot inside a transaction too, so a
        # read transaction would only add two round trips (BEGIN, ROLLBACK): reads run in autocommit there.
        # SQLite keeps its read transaction: there it is one snapshot for every statement of the read.
        self._reader = (
            engine if engine.dialect.name == "sqlite" else engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._project_ids: dict[str, int] = {}
        self._project_names_by_id: dict[int, str] = {}
        dialect = sqlite if engine.dialect.name == "sqlite" else postgresql
        self._insert = dialect.insert

    @staticmethod
    def open_engine(
        url: str,
        *,
        busy_timeout: float = 60.0,
        synchronous: str = "NORMAL",
        auto_upgrade: bool | None = None,
        pool_size: int | None = None,
    ) -> sa.Engine:
        """An engine with the schema checked; ``auto_upgrade`` (default: only SQLite) upgrades an older one."""
        engine = _engine.create_engine(url, busy_timeout=busy_timeout, synchronous=synchronous, pool_size=pool_size)
        if auto_upgrade is None:
            auto_upgrade = engine.dialect.name == "sqlite"
        try:
            with unreachable_is_store_error(engine):
                _engine.ensure_schema(engine, auto_upgrade=auto_upgrade)
        except BaseException:
            engine.dispose()
            raise
        return engine

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        with (
            unreachable_is_store_error(self.engine),
            self.engine.connect().execution_options(shipyard_write=True) as conn,
            conn.begin(),
        ):
            yield conn

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with unreachable_is_store_error(self.engine), self._reader.connect() as conn:
            yield conn

    # projects ---------------------------------------------------------------------------------------

    def _project_names(self, conn: sa.Connection, ids: set[int]) -> dict[int, str]:
        """Project names by id; a project's name never changes, so each is read once per store."""
        missing = ids - self._project_names_by_id.keys()
        if missing:
            query = sa.select(projects.c.id, projects.c.name).where(projects.c.id.in_(missing))
            self._project_names_by_id.update({int(i): str(n) for i, n in conn.execute(query).all()})
        return {i: self._project_names_by_id[i] for i in ids}

    def _project_id(self, conn: sa.Connection, name: str, *, create: bool) -> int:
        if name in self._project_ids:
            return self._project_ids[name]
        query = sa.select(projects.c.id).where(projects.c.name == name)
        project_id = conn.execute(query).scalar()
        if project_id is None:
            if not create:
                known = self.list_projects()
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"Did you mean {close[0]!r}? " if close else ""
                raise NotFound(
                    f"No project named {name!r}. {hint}Known projects: {', '.join(known) or 'none yet'}; "
                    "a project is created by its first run."
                )
            insert = self._insert(projects).values(name=name, created_at=now_ms())
            conn.execute(insert.on_conflict_do_nothing(index_elements=["name"]))
            # not cached yet: if this transaction rolls back, the row is gone and a cached id would dangle
            return int(conn.execute(query).scalar_one())
        self._project_ids[name] = int(project_id)
        return int(project_id)

    def list_projects(self) -> list[str]:
        with self._read() as conn:
            return list(conn.execute(sa.select(projects.c.name).order_by(projects.c.name)).scalars())


@contextmanager
def unreachable_is_store_error(engine: sa.Engine) -> Iterator[None]:
    """A database that cannot be reached, opened, read or written (damaged, read-only, unreachable) is a
    StoreError that says why and what to do; see ``_engine.store_errors``."""
    with _engine.store_errors(engine):
        yield


def chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), IN_CHUNK):
        yield items[start : start + IN_CHUNK]
