"""Registered models and their numbered versions: create, read, list, archive, delete, tags, descriptions.

The base of the registry store: ``AliasStore`` (aliases and the gate's guard on them) builds on it, and
``RegistryStore`` adds the audit log's reads. Each write is one transaction with its audit event.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from shipyard.core.entities import ModelVersion, RegisteredModel
from shipyard.core.entities_storage import FileRow
from shipyard.core.errors import InvalidInput, NotFound
from shipyard.core.refs import Ref
from shipyard.store import audit
from shipyard.store._base import StoreBase, now_ms
from shipyard.store.schema import (
    dataset_versions,
    datasets,
    model_aliases,
    model_version_datasets,
    model_version_files,
    model_version_parents,
    model_version_tags,
    model_versions,
    projects,
    registered_models,
    runs,
)

_VERSION_COLUMNS = sa.select(
    model_versions,
    projects.c.name.label("project"),
    registered_models.c.name.label("model_name"),
).select_from(
    model_versions.join(registered_models, registered_models.c.id == model_versions.c.model_id).join(
        projects, projects.c.id == registered_models.c.project_id
    )
)
CHAMPION = "champion"
PREVIOUS_CHAMPION = "previous-champion"

# What a version record gathers besides its row; built once, since building them costs more than running them.
_VERSION_ID: sa.BindParameter[int] = sa.bindparam("version_id", type_=sa.Integer)
_ALIASES_OF = sa.select(model_aliases.c.alias).where(model_aliases.c.model_version_id == _VERSION_ID).order_by("alias")
_TAGS_OF = sa.select(model_version_tags.c.key, model_version_tags.c.value).where(
    model_version_tags.c.model_version_id == _VERSION_ID
)
_DATASETS_OF = (
    sa.select(model_version_datasets.c.role, datasets.c.name, dataset_versions.c.version)
    .join(dataset_versions, dataset_versions.c.id == model_version_datasets.c.dataset_version_id)
    .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
    .where(model_version_datasets.c.model_version_id == _VERSION_ID)
    .order_by(model_version_datasets.c.role, datasets.c.name)
)
_PARENT = model_versions.alias("parent")
_PARENTS_OF = (
    sa.select(registered_models.c.name, _PARENT.c.version)
    .select_from(model_version_parents)
    .join(_PARENT, _PARENT.c.id == model_version_parents.c.parent_id)
    .join(registered_models, registered_models.c.id == _PARENT.c.model_id)
    .where(model_version_parents.c.model_version_id == _VERSION_ID)
)


class ModelVersionStore(StoreBase):
    """Registered models and versions; the helpers every registry write shares."""

    # versions ---------------------------------------------------------------------------------------

    def create_version(
        self,
        project: str,
        name: str,
        *,
        flavor: str,
        artifact_digest: str,
        package: Mapping[str, Any],
        unsafe_format: bool,
        files: Sequence[FileRow],
        run_id: str | None,
        datasets_: Sequence[tuple[int, str]] = (),
        parents: Sequence[int] = (),
        tags: Mapping[str, str] | None = None,
        description: str = "",
        actor: str,
    ) -> ModelVersion:
        """Add the next numbered version of ``name`` (created on first use), all in one transaction."""
        with self._write() as conn:
            project_id = self._project_id(conn, project, create=True)
            model_id = self._model_id(conn, project_id, name, create=True)
            latest = conn.execute(
                sa.select(sa.func.max(model_versions.c.version)).where(model_versions.c.model_id == model_id)
            ).scalar()
            number = (latest or 0) + 1
            if run_id is not None and conn.execute(sa.select(runs.c.id).where(runs.c.id == run_id)).first() is None:
                raise NotFound(f"No run with id {run_id!r} to have trained {name!r}; name a run that exists, or none.")
            version_id = conn.execute(
                model_versions.insert()
                .values(
                    model_id=model_id,
                    version=number,
                    flavor=flavor,
                    artifact_digest=artifact_digest,
                    package=json.dumps(package, sort_keys=True),
                    unsafe_format=unsafe_format,
                    run_id=run_id,
                    description=description,
                    status="active",
                    created_at=now_ms(),
                    created_by=actor,
                )
                .returning(model_versions.c.id)
            ).scalar_one()
            if files:
                paths = [p for p, _d, _s in files]
                if len(set(paths)) != len(paths):
                    twice = sorted({p for p in paths if paths.count(p) > 1})
                    raise InvalidInput(f"A model version's files name each path once; {twice} appear twice or more.")
                conn.execute(
                    model_version_files.insert(),
                    [{"model_version_id": version_id, "path": p, "digest": d, "size": s} for p, d, s in files],
                )
            try:
                if datasets_:
                    conn.execute(
                        model_version_datasets.insert(),
                        [{"model_version_id": version_id, "dataset_version_id": d, "role": r} for d, r in datasets_],
                    )
                if parents:
                    conn.execute(
                        model_version_parents.insert(),
                        [{"model_version_id": version_id, "parent_id": p} for p in dict.fromkeys(parents)],
                    )
            except sa.exc.IntegrityError:
                raise NotFound(
                    f"The lineage of {name!r} names a dataset version ({[d for d, _r in datasets_]}) or a parent "
                    f"model version ({list(parents)}) that does not exist, or a dataset twice in one role; "
                    "nothing was registered."
                ) from None
            if tags:
                conn.execute(
                    model_version_tags.insert(),
                    [{"model_version_id": version_id, "key": k, "value": v} for k, v in tags.items()],
                )
            self._audit(
                conn,
                actor,
                "model_version.create",
                project_id,
                f"model:{name}@{number}",
                {"run_id": run_id, "flavor": flavor, "unsafe_format": unsafe_format},
            )
            return self._version(conn, model_versions.c.id == version_id)

    def get_version(self, project: str, ref: Ref, *, include_deleted: bool = False) -> ModelVersion:
        """The version a reference names: a number, an alias, or (neither) the newest active one.

        ``include_deleted`` finds a deleted version by number too (its ``status`` then reads ``deleted``):
        lineage needs the record of a parent that is gone.
        """
        with self._read() as conn:
            return self._resolve(conn, project, ref, include_deleted=include_deleted)

    def _resolve(self, conn: sa.Connection, project: str, ref: Ref, *, include_deleted: bool = False) -> ModelVersion:
        where = [projects.c.name == project, registered_models.c.name == ref.name]
        if not include_deleted or ref.version is None:
            where.append(model_versions.c.deleted_at.is_(None))
        if ref.version is not None:
            found = self._find(conn, *where, model_versions.c.version == ref.version)
        elif ref.alias is not None:
            aliased = sa.select(model_aliases.c.model_version_id).where(
                model_aliases.c.model_id == registered_models.c.id, model_aliases.c.alias == ref.alias
            )
            found = self._find(conn, *where, model_versions.c.id == aliased.scalar_subquery())
        else:
            found = self._find(conn, *where, model_versions.c.status == "active", newest=True)
        if found is None:
            raise self._not_found(conn, project, ref)
        return found

    def _version(self, conn: sa.Connection, *where: Any) -> ModelVersion:
        found = self._find(conn, *where)
        if found is None:
            raise NotFound("No such model version.")
        return found

    def _find(self, conn: sa.Connection, *where: Any, newest: bool = False) -> ModelVersion | None:
        query = _VERSION_COLUMNS.where(*where)
        if newest:
            query = query.order_by(model_versions.c.version.desc()).limit(1)
        row = conn.execute(query).first()
        return None if row is None else self._record(conn, row)

    def _not_found(self, conn: sa.Connection, project: str, ref: Ref) -> NotFound:
        model = conn.execute(
            sa.select(registered_models.c.id)
            .join(projects, projects.c.id == registered_models.c.project_id)
            .where(projects.c.name == project, registered_models.c.name == ref.name)
        ).scalar()
        if model is None:
            names = [m.name for m in self.list_models(project)]
            return NotFound(
                f"No registered model named {ref.name!r} in project {project!r}. Models there: "
                f"{', '.join(names) or 'none'}. Register one with run.log_model(model, name={ref.name!r})."
            )
        numbers = list(
            conn.execute(
                sa.select(model_versions.c.version)
                .where(model_versions.c.model_id == model, model_versions.c.deleted_at.is_(None))
                .order_by(model_versions.c.version)
            ).scalars()
        )
        aliases = dict(self._aliases(conn, model))
        listing = f"its versions are {', '.join(map(str, numbers)) or 'none'}"
        if aliases:
            listing += " and its aliases " + ", ".join(f"{a} → {v}" for a, v in sorted(aliases.items()))
        what = (
            f"version {ref.version}" if ref.version is not None else f"alias {ref.alias!r}" if ref.alias else "version"
        )
        return NotFound(f"Model {ref.name!r} has no {what}; {listing}.")

    def _record(self, conn: sa.Connection, row: Any) -> ModelVersion:
        params = {"version_id": row.id}
        aliases = conn.execute(_ALIASES_OF, params).scalars()
        tags = conn.execute(_TAGS_OF, params).all()
        trained_on = conn.execute(_DATASETS_OF, params).all()
        parents = conn.execute(_PARENTS_OF, params).all()
        package = json.loads(row.package)
        return ModelVersion(
            project=row.project,
            name=row.model_name,
            version=row.version,
            flavor=row.flavor,
            artifact_digest=row.artifact_digest,
            unsafe_format=bool(row.unsafe_format),
            signature=package.get("signature", {}),
            package=package,
            run_id=row.run_id,
            description=row.description,
            status="deleted" if row.deleted_at is not None else row.status,
            gate_override=row.gate_override,
            created_at=row.created_at,
            created_by=row.created_by,
            aliases=tuple(aliases),
            tags=dict(tags),
            datasets=tuple((r, f"{n}@{v}") for r, n, v in trained_on),
            parents=tuple(f"{n}@{v}" for n, v in parents),
            id=row.id,
        )

    def list_versions(self, project: str, name: str, *, include_deleted: bool = False) -> list[ModelVersion]:
        with self._read() as conn:
            where = [projects.c.name == project, registered_models.c.name == name]
            if not include_deleted:
                where.append(model_versions.c.deleted_at.is_(None))
            rows = conn.execute(_VERSION_COLUMNS.where(*where).order_by(model_versions.c.version.desc())).all()
            if not rows and self._model_exists(conn, project, name) is None:
                raise self._not_found(conn, project, Ref(name))
            return [self._record(conn, row) for row in rows]

    def version_files(self, version_id: int) -> list[FileRow]:
        with self._read() as conn:
            query = sa.select(model_version_files.c.path, model_version_files.c.digest, model_version_files.c.size)
            rows = conn.execute(query.where(model_version_files.c.model_version_id == version_id)).all()
            return [(p, d, s) for p, d, s in rows]

    def list_models(self, project: str | None = None) -> list[RegisteredModel]:
        """Every registered model with its newest version and aliases: three queries, however many models."""
        latest = (
            sa.select(model_versions.c.model_id, sa.func.max(model_versions.c.version).label("latest"))
            .where(model_versions.c.deleted_at.is_(None))
            .group_by(model_versions.c.model_id)
            .subquery()
        )
        query = (
            sa.select(registered_models, projects.c.name.label("project"), latest.c.latest)
            .join(projects, projects.c.id == registered_models.c.project_id)
            .outerjoin(latest, latest.c.model_id == registered_models.c.id)
            .order_by(projects.c.name, registered_models.c.name)
        )
        if project is not None:
            query = query.where(projects.c.name == project)
        with self._read() as conn:
            rows = conn.execute(query).all()
            aliases: dict[int, dict[str, int]] = {}
            alias_rows = conn.execute(
                sa.select(model_aliases.c.model_id, model_aliases.c.alias, model_versions.c.version)
                .join(model_versions, model_versions.c.id == model_aliases.c.model_version_id)
                .where(model_aliases.c.model_id.in_([row.id for row in rows]))
                .order_by(model_aliases.c.alias)
            ).all()
            for model_id, alias, version in alias_rows:
                aliases.setdefault(model_id, {})[alias] = version
        return [
            RegisteredModel(
                project=row.project,
                name=row.name,
                description=row.description,
                created_at=row.created_at,
                latest_version=row.latest,
                aliases=aliases.get(row.id, {}),
            )
            for row in rows
        ]

    def versions_using_dataset(self, dataset_version_id: int) -> list[tuple[str, ModelVersion]]:
        """(role, model version) pairs of the versions trained on a dataset version."""
        with self._read() as conn:
            rows = conn.execute(
                _VERSION_COLUMNS.add_columns(model_version_datasets.c.role.label("role"))
                .join(model_version_datasets, model_version_datasets.c.model_version_id == model_versions.c.id)
                .where(
                    model_version_datasets.c.dataset_version_id == dataset_version_id,
                    model_versions.c.deleted_at.is_(None),
                )
                .order_by(registered_models.c.name, model_versions.c.version)
            ).all()
            return [(row.role, self._record(conn, row)) for row in rows]

    def versions_of_run(self, run_id: str) -> list[ModelVersion]:
        with self._read() as conn:
            rows = conn.execute(_VERSION_COLUMNS.where(model_versions.c.run_id == run_id)).all()
            return [self._record(conn, row) for row in rows]

    # models, and what every write shares ----------------------------------------------------------------

    def _model_id(self, conn: sa.Connection, project_id: int, name: str, *, create: bool) -> int:
        query = sa.select(registered_models.c.id).where(
            registered_models.c.project_id == project_id, registered_models.c.name == name
        )
        found = conn.execute(query).scalar()
        if found is None and create:
            insert = self._insert(registered_models).values(project_id=project_id, name=name, created_at=now_ms())
            conn.execute(insert.on_conflict_do_nothing(index_elements=["project_id", "name"]))
            found = conn.execute(query).scalar_one()
        if found is None:
            raise NotFound(f"No registered model named {name!r}; see `shipyard models list`.")
        if conn.dialect.name == "postgresql":
            # One writer per model at a time; SQLite's IMMEDIATE transaction already serialises writers.
            conn.execute(sa.select(registered_models.c.id).where(registered_models.c.id == found).with_for_update())
        return int(found)

    def _aliases(self, conn: sa.Connection, model_id: int) -> list[tuple[str, int]]:
        return [
            (a, v)
            for a, v in conn.execute(
                sa.select(model_aliases.c.alias, model_versions.c.version)
                .join(model_versions, model_versions.c.id == model_aliases.c.model_version_id)
                .where(model_aliases.c.model_id == model_id)
                .order_by(model_aliases.c.alias)
            ).all()
        ]

    def _lock_model(self, conn: sa.Connection, project_id: int, name: str) -> int:
        return self._model_id(conn, project_id, name, create=False)

    def _model_exists(self, conn: sa.Connection, project: str, name: str) -> int | None:
        return conn.execute(
            sa.select(registered_models.c.id)
            .join(projects, projects.c.id == registered_models.c.project_id)
            .where(projects.c.name == project, registered_models.c.name == name)
        ).scalar()

    def _audit(
        self,
        conn: sa.Connection,
        actor: str,
        action: str,
        project_id: int | None,
        subject: str,
        details: Mapping[str, Any],
    ) -> None:
        audit.record(conn, actor, action, project_id, subject, details)
