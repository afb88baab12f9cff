"""The model registry in the metadata store: models, numbered versions, aliases, and the audit log.

Three modules, one class chain: ``model_versions`` (models and versions), ``aliases`` (aliases and the
gate's guard, ``authorize``) and this one, which adds a version's lifecycle (archive, restore, delete, tags,
descriptions) and the audit log's reads, and is what the backend holds.
"""

from __future__ import annotations

from collections.abc import Mapping

from shipyard.core.entities import AuditEvent, ModelVersion
from shipyard.core.entities_gate import Verification
from shipyard.core.entities_storage import FileRow
from shipyard.core.errors import Conflict
from shipyard.core.refs import Ref
from shipyard.store import audit
from shipyard.store._base import now_ms
from shipyard.store.aliases import AliasStore, authorize
from shipyard.store.model_versions import CHAMPION, PREVIOUS_CHAMPION
from shipyard.store.schema import model_version_tags, model_versions, registered_models

__all__ = ["CHAMPION", "PREVIOUS_CHAMPION", "FileRow", "RegistryStore", "authorize"]


class RegistryStore(AliasStore):
    """Registered models, versions, aliases, tags and the audit log."""

    # lifecycle --------------------------------------------------------------------------------------

    def set_status(self, project: str, name: str, version: int, status: str, *, actor: str) -> ModelVersion:
        """Archive (``archived``) or restore (``active``) a version; an aliased version cannot be archived."""
        with self._write() as conn:
            project_id = self._project_id(conn, project, create=False)
            model_id = self._lock_model(conn, project_id, name)
            target = self._resolve(conn, project, Ref(name, version=version))
            if status == "archived" and target.aliases:
                raise Conflict(
                    f"{target.ref} holds the alias(es) {', '.join(target.aliases)}; move or delete them first."
                )
            conn.execute(model_versions.update().where(model_versions.c.id == target.id).values(status=status))
            self._audit(
                conn,
                actor,
                f"model_version.{'archive' if status == 'archived' else 'restore'}",
                project_id,
                f"model:{name}@{version}",
                {"model_id": model_id},
            )
            return self._version(conn, model_versions.c.id == target.id)

    def delete_version(self, project: str, name: str, version: int, *, actor: str) -> None:
        """Delete a version (its number is never reused). A version holding an alias cannot be deleted."""
        with self._write() as conn:
            project_id = self._project_id(conn, project, create=False)
            self._lock_model(conn, project_id, name)
            target = self._resolve(conn, project, Ref(name, version=version))
            if target.aliases:
                raise Conflict(
                    f"{target.ref} holds the alias(es) {', '.join(target.aliases)}; move or delete them before "
                    "deleting the version."
                )
            conn.execute(model_versions.update().where(model_versions.c.id == target.id).values(deleted_at=now_ms()))
            self._audit(
                conn,
                actor,
                "model_version.delete",
                project_id,
                f"model:{name}@{version}",
                {"artifact_digest": target.artifact_digest},
            )

    def set_version_tags(self, project: str, name: str, version: int, tags: Mapping[str, str]) -> None:
        with self._write() as conn:
            target = self._resolve(conn, project, Ref(name, version=version))
            upsert = self._insert(model_version_tags)
            conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=["model_version_id", "key"], set_={"value": upsert.excluded.value}
                ),
                [{"model_version_id": target.id, "key": k, "value": v} for k, v in tags.items()],
            )

    def set_description(self, project: str, name: str, description: str, version: int | None = None) -> None:
        with self._write() as conn:
            project_id = self._project_id(conn, project, create=False)
            model_id = self._lock_model(conn, project_id, name)
            if version is None:
                conn.execute(
                    registered_models.update().where(registered_models.c.id == model_id).values(description=description)
                )
            else:
                target = self._resolve(conn, project, Ref(name, version=version))
                conn.execute(
                    model_versions.update().where(model_versions.c.id == target.id).values(description=description)
                )

    # the audit log ------------------------------------------------------------------------------------

    def verify_audit(self, expect_head: str | None = None) -> Verification:
        """Recompute the audit log's hash chain and replay it against aliases, verdicts and policies."""
        with self._read() as conn:
            return audit.verify(conn, expect_head)

    def audit_head(self) -> tuple[int, str]:
        """The newest event's ``seq`` and hash: keep it elsewhere to compare with later."""
        with self._read() as conn:
            return audit.head(conn)

    def audit_events(
        self, project: str | None = None, *, subject: str | None = None, limit: int = 100
    ) -> list[AuditEvent]:
        """Newest first."""
        with self._read() as conn:
            return audit.read(conn, project, subject, limit)
