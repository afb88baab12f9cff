"""Running pipelines: results, step runs, caching, failure handling and resume, on every executor."""

from __future__ import annotations

from pathlib import Path

import pytest

import shipyard
from shipyard.core.entities import RunStatus, StepStatus
from shipyard.core.errors import Conflict
from shipyard.pipelines import resume
from tests.pipelines.conftest import WritePipeline

ML = """
import pandas as pd
import shipyard as sy
from sklearn.linear_model import LogisticRegression

@sy.step
def load(rows: int) -> sy.Dataset:
    return pd.DataFrame({"a": [i % 7 - 3.0 for i in range(rows)], "b": [i % 5 * 1.0 for i in range(rows)],
                         "y": [int(i % 7 > 3) for i in range(rows)]})

@sy.step
def featurize(raw: sy.Dataset, scale: float = 2.0) -> sy.Dataset:
    df = raw.to_pandas()
    df["a"] = df["a"] * scale
    return df

@sy.step(register="churn")
def train(features: sy.Dataset, C: float = 1.0) -> sy.Model:
    df = features.to_pandas()
    sy.active_run().log_metric("train_rows", len(df))
    return LogisticRegression(C=C).fit(df[["a", "b"]], df["y"])

@sy.step
def evaluate(model: sy.Model, features: sy.Dataset) -> dict[str, float]:
    df = features.to_pandas()
    return {"accuracy": float((model.predict(df[["a", "b"]]) == df["y"]).mean())}

@sy.pipeline(project="churn")
def training(rows: int = 200, C: float = 1.0):
    raw = load(rows)
    features = featurize(raw)
    return evaluate(train(features, C=C), features)
"""

BRANCHES = """
import os, signal, time
import shipyard as sy

@sy.step
def source(x: int) -> int:
    return x

@sy.step
def broken(x: int) -> int:
    raise ValueError(f"bad row {x}")

@sy.step
def after(x: int) -> int:
    return x + 1

@sy.step
def fine(x: int) -> int:
    return x * 10

@sy.pipeline(project="p")
def branches(x: int = 7):
    s = source(x)
    return after(broken(s)), fine(s)
"""


def test_a_pipeline_runs_each_step_as_a_child_run_and_returns_its_result(
    client: shipyard.Client, write_pipeline: WritePipeline, executor: str
) -> None:
    run = write_pipeline(ML).run(params={"C": 0.5}, executor=executor, client=client)
    assert run.status is RunStatus.FINISHED
    assert run.result["accuracy"] > 0.5
    parent = client.get_run(run.id)
    assert parent.params == {"rows": "200", "C": "0.5"} and parent.metrics["accuracy"] == run.result["accuracy"]
    train = client.get_run(run.step("train").run_id)
    assert train.parent_id == run.id and train.params == {"C": "0.5"} and train.metrics["train_rows"] == 200


def test_lineage_reaches_back_through_the_pipeline_to_the_raw_data(
    client: shipyard.Client, write_pipeline: WritePipeline
) -> None:
    run = write_pipeline(ML).run(client=client)
    lineage = client.lineage("churn@1", project="churn")
    assert lineage.run is not None and lineage.run.id == run.step("train").run_id
    assert [u.run.name for u in lineage.upstream] == ["featurize", "load"]
    assert [d.ref for d in lineage.sources] == ["training.load@1"]
    produced = client.lineage("training.featurize@1", kind="dataset", project="churn")
    assert [r.id for _name, r in produced.produced_by] == [run.step("featurize").run_id]


def test_a_second_run_is_served_from_the_cache(
    client: shipyard.Client, write_pipeline: WritePipeline, executor: str
) -> None:
    pipeline = write_pipeline(ML)
    first = pipeline.run(executor=executor, client=client)
    second = pipeline.run(executor=executor, client=client)
    assert [s.status for s in second.steps] == [StepStatus.CACHED] * 4
    assert [s.run_id for s in second.steps] == [s.run_id for s in first.steps]
    assert second.result == first.result
    assert len(client.models.versions("churn", project="churn")) == 1


def test_changing_one_step_reruns_it_and_what_depends_on_it_only(
    client: shipyard.Client, write_pipeline: WritePipeline
) -> None:
    write_pipeline(ML).run(client=client)
    changed = write_pipeline(ML.replace('df["a"] * scale', 'df["a"] * scale + 1')).run(client=client)
    statuses = {s.node: s.status for s in changed.steps}
    assert statuses == {"load": "cached", "featurize": "finished", "train": "finished", "evaluate": "finished"}


def test_changing_a_parameter_reruns_the_steps_that_read_it(
    client: shipyard.Client, write_pipeline: WritePipeline
) -> None:
    pipeline = write_pipeline(ML)
    pipeline.run(client=client)
    again = pipeline.run(params={"C": 0.1}, client=client)
    assert [s.status for s in again.steps] == ["cached", "cached", "finished", "finished"]


def test_no_cache_and_a_step_without_cache_always_run(client: shipyard.Client, write_pipeline: WritePipeline) -> None:
    pipeline = write_pipeline(ML.replace("@sy.step\ndef load", "@sy.step(cache=False)\ndef load"))
    pipeline.run(client=client)
    assert pipeline.run(client=client).step("load").status is StepStatus.FINISHED
    assert {s.status for s in pipeline.run(client=client, cache=False).steps} == {StepStatus.FINISHED}


def test_a_failing_step_fails_the_run_skips_its_dependents_and_lets_other_branches_finish(
    client: shipyard.Client, write_pipeline: WritePipeline, executor: str
) -> None:
    run = write_pipeline(BRANCHES).run(executor=executor, client=client)
    assert run.status is RunStatus.FAILED and client.get_run(run.id).status is RunStatus.FAILED
    statuses = {s.node: s.status for s in run.steps}
    assert statuses == {"source": "finished", "broken": "failed", "after": "skipped", "fine": "finished"}
    broken = run.step("broken")
    assert "Traceback" in (broken.error or "") and "ValueError: bad row 7" in (broken.error or "")
    step_run = client.get_run(broken.run_id or "")
    assert step_run.status is RunStatus.FAILED and step_run.tags["shipyard.error"] == "ValueError: bad row 7"
    assert "'broken' failed" in (run.step("after").error or "")


HELPER = """
import shipyard as sy

def check_row(x: int) -> None:
    raise ValueError(f"bad row {x}")

@sy.step
def broken(x: int) -> int:
    check_row(x)
    return x

@sy.pipeline
def flow():
    return broken(7)
"""


def test_a_failed_steps_traceback_names_the_pipeline_files_lines_and_source(
    client: shipyard.Client, write_pipeline: WritePipeline, tmp_path: Path, executor: str
) -> None:
    # cloudpickle >= 3.1.3 names shipped code "<dynamic-code>"; the user must still see their own file.
    error = write_pipeline(HELPER).run(executor=executor, client=client).step("broken").error or ""
    flow = tmp_path / "flow.py"
    assert f'File "{flow}", line 9, in broken\n    check_row(x)\n' in error
    assert f'File "{flow}", line 5, in check_row\n    raise ValueError(f"bad row {{x}}")\n' in error
    assert "<dynamic-code>" not in error


def test_a_step_killed_by_the_os_is_marked_crashed(
    client: shipyard.Client, write_pipeline: WritePipeline, executor: str
) -> None:
    run = write_pipeline(
        BRANCHES.replace('raise ValueError(f"bad row {x}")', "os.kill(os.getpid(), signal.SIGKILL)")
    ).run(executor=executor, client=client)
    crashed = run.step("broken")
    assert crashed.status is StepStatus.CRASHED and run.step("fine").status is StepStatus.FINISHED
    assert client.get_run(crashed.run_id or "").status is RunStatus.CRASHED


def test_a_step_past_its_timeout_is_stopped(
    client: shipyard.Client, write_pipeline: WritePipeline, executor: str
) -> None:
    source = BRANCHES.replace("@sy.step\ndef broken", "@sy.step(timeout=1)\ndef broken").replace(
        'raise ValueError(f"bad row {x}")', "time.sleep(600)"
    )
    run = write_pipeline(source).run(executor=executor, client=client)
    stopped = run.step("broken")
    assert stopped.status is StepStatus.FAILED and "timeout of 1 s" in (stopped.error or "")
    assert client.get_run(stopped.run_id or "").status is not RunStatus.RUNNING


def test_a_step_is_retried_with_backoff(
    client: shipyard.Client, write_pipeline: WritePipeline, tmp_path: Path, executor: str
) -> None:
    marker = tmp_path / "failed-once"
    source = BRANCHES.replace("@sy.step\ndef broken", "@sy.step(retries=2, retry_delay='10ms')\ndef broken").replace(
        'raise ValueError(f"bad row {x}")',
        f"if not os.path.exists({str(marker)!r}):\n        open({str(marker)!r}, 'w').close()\n"
        "        raise ValueError('first time')\n    return x",
    )
    run = write_pipeline(source).run(executor=executor, client=client)
    assert run.status is RunStatus.FINISHED and run.step("broken").attempts == 2
    assert run.result == (8, 70)


def test_a_step_returning_a_type_its_annotation_forbids_fails(
    client: shipyard.Client, write_pipeline: WritePipeline
) -> None:
    run = write_pipeline(BRANCHES.replace('raise ValueError(f"bad row {x}")', 'return "seven"')).run(client=client)
    assert "StepOutputError: Step 'broken' returned str as 'output', but its annotation says int" in (
        run.step("broken").error or ""
    )


def test_resume_reruns_the_failed_steps_and_reuses_the_rest(
    client: shipyard.Client, write_pipeline: WritePipeline, executor: str
) -> None:
    failed = write_pipeline(BRANCHES).run(executor=executor, client=client)
    write_pipeline(BRANCHES.replace('raise ValueError(f"bad row {x}")', "return x"))
    resumed = resume(client, failed.id, executor=executor)
    assert resumed.id == failed.id and resumed.status is RunStatus.FINISHED
    assert resumed.step("source").run_id == failed.step("source").run_id
    assert resumed.step("broken").run_id != failed.step("broken").run_id
    assert resumed.result == (8, 70) and client.get_run(failed.id).status is RunStatus.FINISHED
    with pytest.raises(Conflict, match="nothing to resume"):
        resume(client, failed.id)


def test_independent_steps_run_in_parallel(
    client: shipyard.Client, write_pipeline: WritePipeline, tmp_path: Path
) -> None:
    # Each of the two steps waits for the other to start: they can only both finish if they overlap.
    source = f"""
    import os, time
    import shipyard as sy

    @sy.step(timeout=60)
    def meet(me: str, other: str) -> str:
        open(os.path.join({str(tmp_path)!r}, me), "w").close()
        while not os.path.exists(os.path.join({str(tmp_path)!r}, other)):
            time.sleep(0.01)
        return me

    @sy.pipeline
    def rendezvous():
        return meet("a", "b"), meet("b", "a")
    """
    run = write_pipeline(source).run(client=client, workers=2)
    assert run.status is RunStatus.FINISHED and run.result == ("a", "b")


def test_outputs_without_a_materialiser_are_pickled_and_marked_unsafe(
    client: shipyard.Client, write_pipeline: WritePipeline
) -> None:
    source = """
    import shipyard as sy

    class Vocabulary:
        def __init__(self, words): self.words = words

    @sy.step
    def build() -> Vocabulary:
        return Vocabulary(["a", "b"])

    @sy.step
    def size(vocabulary: Vocabulary) -> int:
        return len(vocabulary.words)

    @sy.pipeline
    def vocab():
        return size(build())
    """
    run = write_pipeline(source).run(client=client)
    assert run.result == 2
    entry = run.step("build").outputs["output"]
    assert entry["kind"] == "pickle" and entry["unsafe"] is True
    assert client.get_run(run.step("build").run_id).tags["shipyard.output.output.unsafe"] == "pickle"


DEFAULT_CLIENT = """
import shipyard as sy
from shipyard.tracking.default import default_client

@sy.step
def where() -> str:
    default_client().get_run(sy.active_run().id)  # NotFound unless the default client is the pipeline's
    return default_client().settings.uri

@sy.pipeline(project="p")
def located():
    return where()
"""


def test_inside_a_step_the_default_client_is_the_pipelines(
    client: shipyard.Client, write_pipeline: WritePipeline
) -> None:
    run = write_pipeline(DEFAULT_CLIENT).run(client=client)
    assert run.status is RunStatus.FINISHED, run.failed_steps
    assert run.result == client.settings.uri
