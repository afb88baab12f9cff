"""How outputs are stored and handed to the next step."""

from __future__ import annotations

import pytest

import shipyard
from shipyard.core.entities import RunStatus
from tests.pipelines.conftest import WritePipeline

pytestmark = pytest.mark.over_http  # this suite also runs on the HTTP backend (tests/conftest.py)


def test_tables_become_dataset_versions_delivered_as_the_type_a_parameter_asks_for(
    client: shipyard.Client, write_pipeline: WritePipeline
) -> None:
    source = """
    import pandas as pd
    import pyarrow as pa
    import shipyard as sy

    @sy.step
    def make() -> tuple[sy.Dataset, sy.Dataset]:
        return pd.DataFrame({"x": [1, 2, 3]}), pa.table({"y": [1.5]})

    @sy.step
    def describe(left: pd.DataFrame, right: pa.Table, handle: sy.Dataset) -> list:
        return [type(left).__name__, type(right).__name__, handle.version.ref, int(left["x"].sum())]

    @sy.pipeline(project="p")
    def tables():
        left, right = make()
        return describe(left, right, left)
    """
    run = write_pipeline(source).run(client=client)
    assert run.result == ["DataFrame", "Table", "tables.make.output_0@1", 6]
    assert [v.ref for v in client.datasets.list("p")] == ["tables.make.output_0@1", "tables.make.output_1@1"]


def test_large_json_outputs_are_read_back_from_the_artifact_store(
    client: shipyard.Client, write_pipeline: WritePipeline
) -> None:
    source = """
    import shipyard as sy

    @sy.step
    def big() -> list[int]:
        return list(range(20_000))

    @sy.step
    def total(values: list[int]) -> int:
        return sum(values)

    @sy.pipeline
    def summing():
        return total(big())
    """
    run = write_pipeline(source).run(client=client)
    assert run.result == sum(range(20_000)) and "value" not in run.step("big").outputs["output"]
    assert [a.path for a in client.list_artifacts(run.step("big").run_id or "")] == ["outputs/output.json"]


def test_a_model_output_needs_training_data_to_infer_its_signature(
    client: shipyard.Client, write_pipeline: WritePipeline
) -> None:
    source = """
    import shipyard as sy
    from sklearn.dummy import DummyClassifier

    @sy.step
    def fit() -> sy.Model:
        return DummyClassifier().fit([[0], [1]], [0, 1])

    @sy.pipeline
    def modelling():
        return fit()
    """
    run = write_pipeline(source).run(client=client)
    assert run.status is RunStatus.FAILED
    assert "reads no sy.Dataset" in (run.step("fit").error or "")


def test_an_unregistered_model_output_is_a_package_the_next_step_can_use(
    client: shipyard.Client, write_pipeline: WritePipeline
) -> None:
    source = """
    import pandas as pd
    import shipyard as sy
    from sklearn.linear_model import LinearRegression

    @sy.step
    def data() -> sy.Dataset:
        return pd.DataFrame({"x": [0.0, 1.0, 2.0], "y": [1.0, 3.0, 5.0]})

    @sy.step
    def fit(train: sy.Dataset) -> sy.Model:
        df = train.to_pandas()
        return LinearRegression().fit(df[["x"]], df["y"])

    @sy.step
    def predict(model: sy.Model) -> float:
        return float(model.predict(pd.DataFrame({"x": [3.0]}))[0])

    @sy.pipeline
    def fitting():
        return predict(fit(data()))
    """
    run = write_pipeline(source).run(client=client)
    assert round(run.result, 6) == 7.0
    paths = [a.path for a in client.list_artifacts(run.step("fit").run_id or "")]
    assert "outputs/output/MANIFEST.json" in paths and client.models.list() == []
