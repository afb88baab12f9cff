"""Building a pipeline's DAG: nothing runs, and a pipeline that cannot run is refused before it starts."""

from __future__ import annotations

import pytest

import shipyard as sy
from shipyard.core.errors import InvalidInput
from shipyard.pipelines.definition import Dag, Node, PipelineDefinitionError, parse_duration
from shipyard.pipelines.loader import parse_assignments, parse_params

calls: list[str] = []


@sy.step
def load(path: str) -> sy.Dataset:
    calls.append("load")
    raise AssertionError("building a pipeline must not run its steps")


@sy.step
def featurize(raw: sy.Dataset, window: int = 7) -> sy.Dataset:
    raise AssertionError("not run")


@sy.step
def train(features: sy.Dataset, lr: float = 0.1) -> sy.Model:
    raise AssertionError("not run")


@sy.step
def split(raw: sy.Dataset) -> tuple[sy.Dataset, sy.Dataset]:
    raise AssertionError("not run")


@sy.step
def double(x: int) -> int:
    return 2 * x


@sy.pipeline(project="churn")
def training(path: str = "data.parquet", lr: float = 0.1):
    raw = load(path)
    model = train(featurize(raw), lr=lr)
    return model


def test_building_records_the_dag_without_running_a_step() -> None:
    dag = training.build({"lr": 0.05})
    assert calls == []
    assert dag.validate() == ["load", "featurize", "train"]
    assert dag.nodes["train"].params == {"lr": 0.05}
    assert dag.nodes["train"].upstream == ["featurize"]
    assert dag.downstream("load") == {"featurize", "train"}


def test_outside_a_pipeline_a_step_is_its_plain_function() -> None:
    assert double(4) == 8


def test_a_step_called_twice_gets_a_second_node() -> None:
    @sy.pipeline
    def twice(x: int = 1):
        return double(double(x))

    assert list(twice.build().nodes) == ["double", "double_2"]


def test_a_tuple_annotation_gives_several_outputs() -> None:
    @sy.pipeline
    def splitting():
        _train_part, test_part = split(load("x"))
        return featurize(test_part)

    dag = splitting.build()
    assert dag.nodes["featurize"].inputs["raw"].output == "output_1"


def test_a_missing_step_parameter_names_the_step_and_the_parameter() -> None:
    @sy.pipeline
    def broken():
        return featurize()

    with pytest.raises(PipelineDefinitionError, match=r"'featurize'.*pipeline 'broken'.*'raw'"):
        broken.build()


def test_an_output_feeding_a_parameter_of_another_type_is_refused() -> None:
    @sy.pipeline
    def mismatched():
        model = train(load("x"))
        return featurize(model)

    with pytest.raises(PipelineDefinitionError, match=r"'raw' wants sy.Dataset, but step 'train' returns sy.Model"):
        mismatched.build()


def test_an_int_output_may_feed_a_float_parameter_but_not_a_dataset() -> None:
    @sy.pipeline
    def widening():
        return train(load("x"), lr=double(1))

    widening.build()

    @sy.pipeline
    def wrong():
        return featurize(double(1))

    with pytest.raises(PipelineDefinitionError, match="returns int"):
        wrong.build()


def test_literal_parameters_must_be_json_values() -> None:
    @sy.pipeline
    def with_object():
        return double(object())

    with pytest.raises(PipelineDefinitionError, match="JSON values"):
        with_object.build()


def test_testing_a_step_output_in_the_body_is_refused() -> None:
    @sy.pipeline
    def branching():
        return double(1) if double(2) else None

    with pytest.raises(PipelineDefinitionError, match="only known when the pipeline runs"):
        branching.build()


def test_a_cycle_is_reported_with_its_steps() -> None:
    a = Node("a", double, {}, {}, upstream=["b"])
    b = Node("b", double, {}, {}, upstream=["a"])
    with pytest.raises(PipelineDefinitionError, match="cycle: a -> b -> a"):
        Dag("loop", {"a": a, "b": b}).validate()


def test_a_pipeline_without_steps_is_refused() -> None:
    @sy.pipeline
    def empty():
        return 1

    with pytest.raises(PipelineDefinitionError, match="calls no step"):
        empty.build()


def test_unknown_and_missing_pipeline_parameters_are_named() -> None:
    with pytest.raises(InvalidInput, match=r"no parameter 'rate'. Its parameters: path, lr"):
        training.bind({"rate": 1})

    @sy.pipeline
    def needs(x: int):
        return double(x)

    with pytest.raises(InvalidInput, match="needs a value for 'x'"):
        needs.bind()


def test_command_line_parameters_take_the_annotated_types() -> None:
    assert parse_params(training, parse_assignments(["lr=0.05", "path=a.csv"])) == {"lr": 0.05, "path": "a.csv"}
    with pytest.raises(InvalidInput, match=r"--param lr='fast': expected a float"):
        parse_params(training, {"lr": "fast"})
    with pytest.raises(InvalidInput, match="NAME=VALUE"):
        parse_assignments(["lr"])


def test_step_options_are_validated() -> None:
    assert parse_duration("10m", "timeout") == 600
    assert parse_duration("250ms", "timeout") == 0.25
    with pytest.raises(InvalidInput, match="positive duration"):
        sy.step(timeout="soon")(lambda: None)
    with pytest.raises(InvalidInput, match="retries"):
        sy.step(retries=-1)(lambda: None)
