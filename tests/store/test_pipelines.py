"""Pipeline records on both stores: nodes, the cache probe, run outputs, and a whole run end to end."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd

import shipyard as sy
from shipyard.core.entities import RunStatus, StepStatus
from shipyard.pipelines.loader import load_pipeline

FLOW = """
import pandas as pd
import shipyard as sy

@sy.step
def load(rows: int) -> sy.Dataset:
    return pd.DataFrame({"x": list(range(rows))})

@sy.step
def total(raw: sy.Dataset) -> int:
    return int(raw.to_pandas()["x"].sum())

@sy.step
def broken(raw: sy.Dataset) -> int:
    raise ValueError("no")

@sy.pipeline(project="p")
def flow(rows: int = 5):
    raw = load(rows)
    return total(raw), broken(raw)
"""


def test_a_pipeline_runs_and_caches_on_each_store(client: sy.Client, tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(textwrap.dedent(FLOW))
    pipeline = load_pipeline(f"{tmp_path / 'flow.py'}:flow")
    first = pipeline.run(client=client, workers=2)
    assert first.status is RunStatus.FAILED
    assert [s.status for s in first.steps] == ["finished", "finished", "failed"]
    second = pipeline.run(client=client, workers=2)
    assert [s.status for s in second.steps] == ["cached", "cached", "failed"]
    assert second.output("total") == 10


def test_the_cache_ignores_deleted_runs(client: sy.Client) -> None:
    store = client.backend.pipelines
    with client.start_run(project="p", name="flow") as parent, client.start_run(project="p", name="step") as step:
        store.add_nodes(parent.id, [("step", "step", [])])
        store.update_node(
            parent.id,
            "step",
            status=StepStatus.FINISHED,
            run_id=step.id,
            cache_key="sha256:k",
            outputs={"output": {"kind": "json", "digest": "sha256:d", "value": 1}},
            ended_at=1,
        )
    assert store.find_cached("sha256:k") == (step.id, {"output": {"kind": "json", "digest": "sha256:d", "value": 1}})
    client.delete_run(step.id)
    assert store.find_cached("sha256:k") is None


def test_run_outputs_name_their_producer(client: sy.Client) -> None:
    version = client.datasets.register("d", pd.DataFrame({"x": [1]}), project="p")
    with client.start_run(project="p", name="maker") as run:
        client.backend.pipelines.add_outputs(run.id, {"output": version.id})
        client.backend.pipelines.add_outputs(run.id, {"output": version.id})  # twice is once
    assert client.backend.pipelines.producers(version.id) == [(run.id, "output")]
    assert [(n, v.ref) for n, v in client.backend.pipelines.outputs_of(run.id)] == [("output", "d@1")]
