"""Pipeline runs in the metadata store: one row per node, the step cache, and what runs produced."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from shipyard.core.entities import DatasetVersion, StepRecord, StepStatus
from shipyard.core.errors import Conflict, InvalidInput, NotFound
from shipyard.store._base import StoreBase
from shipyard.store.datasets import _VERSION_COLUMNS
from shipyard.store.datasets import _record as dataset_record
from shipyard.store.schema import dataset_versions, pipeline_steps, run_outputs, runs

_UPDATABLE = {"status", "run_id", "cache_key", "cached", "outputs", "error", "attempts", "started_at", "ended_at"}


class PipelineStore(StoreBase):
    """Nodes of pipeline runs (written before anything runs), cache lookups, and run outputs."""

    def add_nodes(self, pipeline_run_id: str, nodes: Sequence[tuple[str, str, Sequence[str]]]) -> None:
        """Record every (node, step, upstream nodes) of a pipeline run as pending, in DAG order."""
        rows = [
            {
                "pipeline_run_id": pipeline_run_id,
                "node": node,
                "position": position,
                "step": step,
                "upstream": json.dumps(list(upstream)),
                "status": StepStatus.PENDING.value,
            }
            for position, (node, step, upstream) in enumerate(nodes)
        ]
        with self._write() as conn:
            if conn.execute(sa.select(runs.c.id).where(runs.c.id == pipeline_run_id)).first() is None:
                raise NotFound(
                    f"No run with id {pipeline_run_id!r} to hold the pipeline's steps; a pipeline run is created "
                    "as a run first (start it with `shipyard pipeline run MODULE:PIPELINE`)."
                )
            names = [node for node, _step, _upstream in nodes]
            if len(set(names)) != len(names):
                raise InvalidInput(f"A pipeline's nodes have distinct names; got {sorted(names)}.")
            try:
                if rows:
                    conn.execute(sa.insert(pipeline_steps), rows)
            except sa.exc.IntegrityError:
                raise Conflict(
                    f"The steps of pipeline run {pipeline_run_id!r} are recorded already; a pipeline run records "
                    "its nodes once (update them with update_node)."
                ) from None

    def update_node(self, pipeline_run_id: str, node: str, **fields: Any) -> None:
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise InvalidInput(
                f"Cannot update {sorted(unknown)} of a pipeline step; the fields a step takes are "
                f"{', '.join(sorted(_UPDATABLE))}."
            )
        values = dict(fields)
        if not values:
            return
        if "status" in values:
            if values["status"] not in set(StepStatus):
                raise InvalidInput(
                    f"{values['status']!r} is not a pipeline step status; expected one of "
                    f"{', '.join(s.value for s in StepStatus)}."
                )
            values["status"] = StepStatus(values["status"]).value
        if "outputs" in values and values["outputs"] is not None:
            values["outputs"] = json.dumps(values["outputs"], sort_keys=True)
        with self._write() as conn:
            conn.execute(
                sa.update(pipeline_steps)
                .where(pipeline_steps.c.pipeline_run_id == pipeline_run_id, pipeline_steps.c.node == node)
                .values(**values)
            )

    def nodes(self, pipeline_run_id: str) -> list[StepRecord]:
        query = (
            sa.select(pipeline_steps)
            .where(pipeline_steps.c.pipeline_run_id == pipeline_run_id)
            .order_by(pipeline_steps.c.position)
        )
        with self._read() as conn:
            return [_record(row) for row in conn.execute(query).all()]

    def find_cached(self, cache_key: str) -> tuple[str, dict[str, Any]] | None:
        """(run id, outputs) of the latest finished step with this key whose run still exists, if any."""
        query = (
            sa.select(pipeline_steps.c.run_id, pipeline_steps.c.outputs)
            .join(runs, runs.c.id == pipeline_steps.c.run_id)
            .where(
                pipeline_steps.c.cache_key == cache_key,
                pipeline_steps.c.status == StepStatus.FINISHED.value,
                runs.c.deleted_at.is_(None),
            )
            .order_by(pipeline_steps.c.ended_at.desc())
            .limit(1)
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None or row.outputs is None:
            return None
        return row.run_id, json.loads(row.outputs)

    def add_outputs(self, run_id: str, outputs: Mapping[str, int]) -> None:
        """Record that ``run_id`` produced these dataset versions (output name → dataset version id)."""
        if not outputs:
            return
        rows = [{"run_id": run_id, "dataset_version_id": vid, "name": name} for name, vid in outputs.items()]
        with self._write() as conn:
            insert = self._insert(run_outputs).on_conflict_do_nothing()
            try:
                conn.execute(insert, rows)
            except sa.exc.IntegrityError:
                raise NotFound(
                    f"No run {run_id!r}, or no dataset version among {sorted(outputs.values())}, to record as its "
                    "outputs; record outputs of a run that exists, naming dataset versions by id."
                ) from None

    def producers(self, dataset_version_id: int) -> list[tuple[str, str]]:
        """(run id, output name) of the runs that produced a dataset version, oldest run first."""
        query = (
            sa.select(run_outputs.c.run_id, run_outputs.c.name)
            .join(runs, runs.c.id == run_outputs.c.run_id)
            .where(run_outputs.c.dataset_version_id == dataset_version_id)
            .order_by(runs.c.start_time)
        )
        with self._read() as conn:
            return [(run_id, name) for run_id, name in conn.execute(query).all()]

    def outputs_of(self, run_id: str) -> list[tuple[str, DatasetVersion]]:
        """(output name, dataset version) of what a run produced."""
        query = (
            _VERSION_COLUMNS.add_columns(run_outputs.c.name.label("output"))
            .join(run_outputs, run_outputs.c.dataset_version_id == dataset_versions.c.id)
            .where(run_outputs.c.run_id == run_id)
            .order_by(run_outputs.c.name)
        )
        with self._read() as conn:
            return [(row.output, dataset_record(row)) for row in conn.execute(query).all()]


def _record(row: Any) -> StepRecord:
    return StepRecord(
        pipeline_run_id=row.pipeline_run_id,
        node=row.node,
        position=row.position,
        step=row.step,
        upstream=tuple(json.loads(row.upstream)),
        status=StepStatus(row.status),
        run_id=row.run_id,
        cache_key=row.cache_key,
        outputs=None if row.outputs is None else json.loads(row.outputs),
        error=row.error,
        attempts=row.attempts,
        started_at=row.started_at,
        ended_at=row.ended_at,
    )
