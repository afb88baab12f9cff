"""Dataset versions and run inputs in the metadata store."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from shipyard.core.entities import DatasetVersion
from shipyard.core.errors import Conflict, NotFound
from shipyard.store._base import StoreBase, now_ms
from shipyard.store.schema import dataset_versions, datasets, projects, run_inputs, runs

_VERSION_COLUMNS = sa.select(
    dataset_versions.c.id,
    projects.c.name.label("project"),
    datasets.c.name,
    dataset_versions.c.version,
    dataset_versions.c.digest,
    dataset_versions.c.blob_digest,
    dataset_versions.c.rows,
    dataset_versions.c.size_bytes,
    dataset_versions.c.schema,
    dataset_versions.c.profile,
    dataset_versions.c.description,
    dataset_versions.c.created_at,
    dataset_versions.c.created_by,
).select_from(
    dataset_versions.join(datasets, datasets.c.id == dataset_versions.c.dataset_id).join(
        projects, projects.c.id == datasets.c.project_id
    )
)


class DatasetStore(StoreBase):
    """Named datasets, their numbered immutable versions, and which runs used them."""

    def add_version(
        self,
        project: str,
        name: str,
        *,
        digest: str,
        blob_digest: str,
        rows: int,
        size_bytes: int,
        schema: Mapping[str, Any],
        profile: Mapping[str, Any],
        description: str,
        actor: str,
    ) -> tuple[DatasetVersion, bool]:
        """Record a version, or return the existing one with the same content digest. True if it is new."""
        with self._write() as conn:
            project_id = self._project_id(conn, project, create=True)
            dataset_id = self._dataset_id(conn, project_id, name)
            existing = conn.execute(
                _VERSION_COLUMNS.where(dataset_versions.c.dataset_id == dataset_id, dataset_versions.c.digest == digest)
            ).first()
            if existing is not None:
                return _record(existing), False
            latest = conn.execute(
                sa.select(sa.func.max(dataset_versions.c.version)).where(dataset_versions.c.dataset_id == dataset_id)
            ).scalar()
            conn.execute(
                dataset_versions.insert().values(
                    dataset_id=dataset_id,
                    version=(latest or 0) + 1,
                    digest=digest,
                    blob_digest=blob_digest,
                    rows=rows,
                    size_bytes=size_bytes,
                    schema=json.dumps(schema),
                    profile=json.dumps(profile),
                    description=description,
                    created_at=now_ms(),
                    created_by=actor,
                )
            )
            row = conn.execute(
                _VERSION_COLUMNS.where(dataset_versions.c.dataset_id == dataset_id, dataset_versions.c.digest == digest)
            ).one()
            return _record(row), True

    def _dataset_id(self, conn: sa.Connection, project_id: int, name: str) -> int:
        query = sa.select(datasets.c.id).where(datasets.c.project_id == project_id, datasets.c.name == name)
        found = conn.execute(query).scalar()
        if found is None:
            insert = self._insert(datasets).values(project_id=project_id, name=name, created_at=now_ms())
            conn.execute(insert.on_conflict_do_nothing(index_elements=["project_id", "name"]))
            found = conn.execute(query).scalar_one()
        if conn.dialect.name == "postgresql":
            # Serialise version numbering per dataset; SQLite's IMMEDIATE transaction already does.
            conn.execute(sa.select(datasets.c.id).where(datasets.c.id == found).with_for_update())
        return int(found)

    def get_version(self, project: str, name: str, version: int | None = None) -> DatasetVersion:
        """One version; the newest when ``version`` is None. ``NotFound`` lists what exists."""
        with self._read() as conn:
            query = _VERSION_COLUMNS.where(projects.c.name == project, datasets.c.name == name)
            if version is None:
                row = conn.execute(query.order_by(dataset_versions.c.version.desc()).limit(1)).first()
            else:
                row = conn.execute(query.where(dataset_versions.c.version == version)).first()
            if row is None:
                raise self._not_found(conn, project, name, version)
            return _record(row)

    def get_by_id(self, dataset_version_id: int) -> DatasetVersion:
        with self._read() as conn:
            return _record(conn.execute(_VERSION_COLUMNS.where(dataset_versions.c.id == dataset_version_id)).one())

    def _not_found(self, conn: sa.Connection, project: str, name: str, version: int | None) -> NotFound:
        numbers = list(
            conn.execute(
                sa.select(dataset_versions.c.version)
                .select_from(dataset_versions.join(datasets).join(projects))
                .where(projects.c.name == project, datasets.c.name == name)
                .order_by(dataset_versions.c.version)
            ).scalars()
        )
        if not numbers:
            names = [d.name for d in self.list_datasets(project)]
            return NotFound(
                f"No dataset named {name!r} in project {project!r}. Datasets there: {', '.join(names) or 'none'}. "
                "Register one with sy.datasets.register(name, table)."
            )
        return NotFound(f"Dataset {name!r} has no version {version}; its versions are {', '.join(map(str, numbers))}.")

    def list_versions(self, project: str, name: str) -> list[DatasetVersion]:
        with self._read() as conn:
            query = _VERSION_COLUMNS.where(projects.c.name == project, datasets.c.name == name)
            rows = conn.execute(query.order_by(dataset_versions.c.version.desc())).all()
            if not rows:
                raise self._not_found(conn, project, name, None)
            return [_record(row) for row in rows]

    def list_datasets(self, project: str | None = None) -> list[DatasetVersion]:
        """The newest version of every dataset (of one project, or of all), by name."""
        newest = (
            sa.select(dataset_versions.c.dataset_id, sa.func.max(dataset_versions.c.version).label("version"))
            .group_by(dataset_versions.c.dataset_id)
            .subquery()
        )
        query = _VERSION_COLUMNS.join(
            newest,
            sa.and_(
                newest.c.dataset_id == dataset_versions.c.dataset_id, newest.c.version == dataset_versions.c.version
            ),
        )
        if project is not None:
            query = query.where(projects.c.name == project)
        with self._read() as conn:
            return [_record(row) for row in conn.execute(query.order_by(projects.c.name, datasets.c.name)).all()]

    # lineage ----------------------------------------------------------------------------------------

    def add_run_input(self, run_id: str, dataset_version_id: int, role: str) -> None:
        with self._write() as conn:
            status = conn.execute(sa.select(runs.c.status).where(runs.c.id == run_id)).scalar()
            if status is None:
                raise NotFound(f"No run with id {run_id!r}. List runs with `shipyard runs list --project NAME`.")
            if status != "running":
                raise Conflict(f"Run {run_id} has ended ({status}); it accepts no more inputs.")
            found = conn.execute(sa.select(dataset_versions.c.id).where(dataset_versions.c.id == dataset_version_id))
            if found.first() is None:
                raise NotFound(f"No dataset version with id {dataset_version_id}; a run's input is a registered one.")
            insert = self._insert(run_inputs).values(run_id=run_id, dataset_version_id=dataset_version_id, role=role)
            conn.execute(insert.on_conflict_do_nothing())

    def run_inputs(self, run_id: str) -> list[tuple[str, DatasetVersion]]:
        """(role, dataset version) pairs a run used."""
        query = (
            _VERSION_COLUMNS.add_columns(run_inputs.c.role)
            .join(run_inputs, run_inputs.c.dataset_version_id == dataset_versions.c.id)
            .where(run_inputs.c.run_id == run_id)
            .order_by(run_inputs.c.role, datasets.c.name)
        )
        with self._read() as conn:
            return [(row.role, _record(row)) for row in conn.execute(query).all()]

    def runs_using(self, dataset_version_id: int) -> list[tuple[str, str]]:
        """(run id, role) pairs of the runs that used a dataset version."""
        query = (
            sa.select(run_inputs.c.run_id, run_inputs.c.role)
            .where(run_inputs.c.dataset_version_id == dataset_version_id)
            .order_by(run_inputs.c.run_id)
        )
        with self._read() as conn:
            return [(r, role) for r, role in conn.execute(query).all()]


def _record(row: Any) -> DatasetVersion:
    return DatasetVersion(
        project=row.project,
        name=row.name,
        version=row.version,
        digest=row.digest,
        blob_digest=row.blob_digest,
        rows=row.rows,
        size_bytes=row.size_bytes,
        schema=json.loads(row.schema),
        profile=json.loads(row.profile),
        description=row.description,
        created_at=row.created_at,
        created_by=row.created_by,
        id=row.id,
    )
