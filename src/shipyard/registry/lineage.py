"""Lineage both ways: what produced a model version, and what used a dataset version."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard.core.entities import DatasetVersion, ModelVersion, RunRecord
from shipyard.core.errors import NotFound
from shipyard.core.refs import Ref

if TYPE_CHECKING:
    from shipyard.backends.local import LocalBackend


@dataclass(frozen=True)
class ModelLineage:
    """Where a model version came from: its run, the code commit, the data, the versions it derives from."""

    model: ModelVersion
    run: RunRecord | None
    """None when the version was registered outside a run, or its run has been purged (``run_id`` says which)."""
    trained_on: list[tuple[str, DatasetVersion]] = field(default_factory=list)
    run_inputs: list[tuple[str, DatasetVersion]] = field(default_factory=list)
    parents: list[ModelVersion] = field(default_factory=list)

    @property
    def code(self) -> dict[str, Any] | None:
        """The git commit, branch and dirty flag the training run recorded, if any."""
        if self.run is None:
            return None
        git = self.run.environment.get("git")
        return dict(git) if isinstance(git, dict) else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.to_dict(),
            "run_id": self.model.run_id,
            "run": None if self.run is None else self.run.to_dict(),
            "code": self.code,
            "trained_on": [{"role": r, "dataset": d.to_dict()} for r, d in self.trained_on],
            "run_inputs": [{"role": r, "dataset": d.to_dict()} for r, d in self.run_inputs],
            "parents": [p.to_dict() for p in self.parents],
        }


@dataclass(frozen=True)
class DatasetLineage:
    """Who used a dataset version: runs (with the role they gave it) and model versions trained on it."""

    dataset: DatasetVersion
    runs: list[tuple[str, RunRecord]] = field(default_factory=list)
    models: list[tuple[str, ModelVersion]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset.to_dict(),
            "runs": [{"role": r, "run": run.to_dict()} for r, run in self.runs],
            "models": [{"role": r, "model": m.to_dict()} for r, m in self.models],
        }


def model_lineage(backend: LocalBackend, version: ModelVersion) -> ModelLineage:
    run = None
    inputs: list[tuple[str, DatasetVersion]] = []
    if version.run_id is not None:
        try:
            run = backend.store.get_run(version.run_id)
            inputs = backend.datasets.run_inputs(version.run_id)
        except NotFound:
            run = None  # purged since; the version keeps the id
    trained_on = []
    for role, ref in version.datasets:
        name, _, number = ref.rpartition("@")
        trained_on.append((role, backend.datasets.get_version(version.project, name, int(number))))
    parents = []
    for parent in version.parents:
        name, _, number = parent.rpartition("@")
        found = backend.registry.get_version(version.project, Ref(name, version=int(number)), include_deleted=True)
        parents.append(found)
    return ModelLineage(model=version, run=run, trained_on=trained_on, run_inputs=inputs, parents=parents)


def dataset_lineage(backend: LocalBackend, version: DatasetVersion) -> DatasetLineage:
    runs = []
    for run_id, role in backend.datasets.runs_using(version.id):
        try:
            runs.append((role, backend.store.get_run(run_id)))
        except NotFound:
            continue
    return DatasetLineage(dataset=version, runs=runs, models=backend.registry.versions_using_dataset(version.id))
