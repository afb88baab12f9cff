"""Lineage both ways: what produced a model version, and what used a dataset version."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard.core.entities import DatasetVersion, ModelVersion, RunRecord
from shipyard.core.errors import NotFound
from shipyard.core.refs import Ref

if TYPE_CHECKING:
    from shipyard.backends.protocol import Backend


@dataclass(frozen=True)
class Upstream:
    """A run upstream of a model (a pipeline step, say): the datasets it read and the ones it produced."""

    run: RunRecord
    inputs: list[tuple[str, DatasetVersion]]
    produced: list[tuple[str, DatasetVersion]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run.to_dict(),
            "inputs": [{"role": r, "dataset": d.to_dict()} for r, d in self.inputs],
            "produced": [{"output": n, "dataset": d.to_dict()} for n, d in self.produced],
        }


@dataclass(frozen=True)
class ModelLineage:
    """Where a model version came from: its run, the code commit, the data, the versions it derives from."""

    model: ModelVersion
    run: RunRecord | None
    """None when the version was registered outside a run, or its run has been purged (``run_id`` says which)."""
    trained_on: list[tuple[str, DatasetVersion]] = field(default_factory=list)
    run_inputs: list[tuple[str, DatasetVersion]] = field(default_factory=list)
    parents: list[ModelVersion] = field(default_factory=list)
    upstream: list[Upstream] = field(default_factory=list)
    """The runs that produced the training run's inputs, and theirs, back to data no run produced."""

    @property
    def sources(self) -> list[DatasetVersion]:
        """The raw data at the root: datasets read that no recorded run produced, and what the first steps
        (runs that read no dataset, such as a pipeline's loading step) produced."""
        produced = {d.id for u in self.upstream for _n, d in u.produced}
        read = [d for _r, d in self.run_inputs] + [d for u in self.upstream for _r, d in u.inputs]
        roots = [d for d in read if d.id not in produced]
        roots += [d for u in self.upstream if not u.inputs for _n, d in u.produced]
        return list({d.id: d for d in roots}.values())

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
            "upstream": [u.to_dict() for u in self.upstream],
            "sources": [d.to_dict() for d in self.sources],
        }


@dataclass(frozen=True)
class DatasetLineage:
    """Who used a dataset version: runs (with the role they gave it) and model versions trained on it."""

    dataset: DatasetVersion
    runs: list[tuple[str, RunRecord]] = field(default_factory=list)
    models: list[tuple[str, ModelVersion]] = field(default_factory=list)
    produced_by: list[tuple[str, RunRecord]] = field(default_factory=list)
    """(output name, run) of the runs that produced it (a pipeline step), first producer first."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset.to_dict(),
            "runs": [{"role": r, "run": run.to_dict()} for r, run in self.runs],
            "models": [{"role": r, "model": m.to_dict()} for r, m in self.models],
            "produced_by": [{"output": n, "run": run.to_dict()} for n, run in self.produced_by],
        }


def model_lineage(backend: Backend, version: ModelVersion) -> ModelLineage:
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
    seeds = [d for _r, d in inputs] + [d for _r, d in trained_on]
    upstream = _upstream(backend, seeds)
    return ModelLineage(
        model=version, run=run, trained_on=trained_on, run_inputs=inputs, parents=parents, upstream=upstream
    )


def _upstream(backend: Backend, datasets: list[DatasetVersion]) -> list[Upstream]:
    """Walk from datasets to the runs that produced them, then to those runs' inputs, breadth first."""
    found: list[Upstream] = []
    seen_runs: set[str] = set()
    seen_datasets: set[int] = set()
    frontier = list(datasets)
    while frontier:
        dataset = frontier.pop(0)
        if dataset.id in seen_datasets:
            continue
        seen_datasets.add(dataset.id)
        for run_id, _name in backend.pipelines.producers(dataset.id)[:1]:  # the first run that produced it
            if run_id in seen_runs:
                continue
            seen_runs.add(run_id)
            try:
                run = backend.store.get_run(run_id)
            except NotFound:
                continue
            run_inputs = backend.datasets.run_inputs(run_id)
            produced = backend.pipelines.outputs_of(run_id)
            found.append(Upstream(run, run_inputs, produced))
            frontier.extend(d for _r, d in run_inputs)
    return found


def dataset_lineage(backend: Backend, version: DatasetVersion) -> DatasetLineage:
    runs = []
    for run_id, role in backend.datasets.runs_using(version.id):
        try:
            runs.append((role, backend.store.get_run(run_id)))
        except NotFound:
            continue
    producers = []
    for run_id, name in backend.pipelines.producers(version.id):
        try:
            producers.append((name, backend.store.get_run(run_id)))
        except NotFound:
            continue
    models = backend.registry.versions_using_dataset(version.id)
    return DatasetLineage(dataset=version, runs=runs, models=models, produced_by=producers)
