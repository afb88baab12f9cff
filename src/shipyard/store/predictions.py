"""The index of prediction-log segments: which Parquet blobs hold a model's predictions or feedback, and when.

The rows themselves live in the artifact store (``shipyard.serving.predlog`` writes and reads them); here each
segment is one row with its time range, so a read of a window finds its segments in one indexed range scan.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import sqlalchemy as sa

from shipyard.core.entities_monitoring import PREDICTION_KINDS, PredictionSegment
from shipyard.core.errors import InvalidInput
from shipyard.store._base import StoreBase, now_ms
from shipyard.store.schema import prediction_segments

KINDS = PREDICTION_KINDS


class PredictionStore(StoreBase):
    """Segments of prediction logs and feedback, by project, model and time."""

    def add_segment(
        self,
        project: str,
        model: str,
        kind: str,
        *,
        blob_digest: str,
        rows: int,
        first_at: int,
        last_at: int,
        versions: Iterable[int] = (),
    ) -> int:
        """Record a segment already stored as the blob ``blob_digest``; return its id. Creates the project."""
        values = {
            "model": model,
            "kind": _check_kind(kind),
            "blob_digest": blob_digest,
            "rows": rows,
            "first_at": first_at,
            "last_at": last_at,
            "versions": json.dumps(sorted(set(versions))),
            "created_at": now_ms(),
        }
        with self._write() as conn:
            values["project_id"] = self._project_id(conn, project, create=True)
            insert = sa.insert(prediction_segments).values(**values).returning(prediction_segments.c.id)
            return int(conn.execute(insert).scalar_one())

    def segments(
        self,
        project: str,
        model: str,
        kind: str,
        *,
        since_ms: int | None = None,
        until_ms: int | None = None,
    ) -> list[PredictionSegment]:
        """Segments that may hold rows at ``since_ms <= at < until_ms``, oldest first.

        ``NotFound`` (with the known projects) for a project that does not exist.
        """
        table = prediction_segments
        with self._read() as conn:
            project_id = self._project_id(conn, project, create=False)
            query = sa.select(table).where(
                table.c.project_id == project_id, table.c.model == model, table.c.kind == _check_kind(kind)
            )
            if since_ms is not None:
                query = query.where(table.c.last_at >= since_ms)
            if until_ms is not None:
                query = query.where(table.c.first_at < until_ms)
            rows = conn.execute(query.order_by(table.c.first_at, table.c.id)).all()
        return [
            PredictionSegment(
                id=row.id,
                model=row.model,
                kind=row.kind,
                blob_digest=row.blob_digest,
                rows=row.rows,
                first_at=row.first_at,
                last_at=row.last_at,
                versions=tuple(json.loads(row.versions)),
                created_at=row.created_at,
            )
            for row in rows
        ]


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput(f"A prediction log segment's kind must be one of {', '.join(KINDS)}; got {kind!r}.")
    return kind
