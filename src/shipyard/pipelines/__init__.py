"""Pipelines: plain Python steps in a DAG, cached, recorded as runs, run locally or on Ray.

>>> @sy.step
... def featurize(raw: sy.Dataset, window: int = 7) -> sy.Dataset: ...
>>> @sy.pipeline(project="churn")
... def training(path: str = "data/churn.parquet"):
...     return train(featurize(load(path)))
>>> run = training.run(params={"path": "data/new.parquet"}, executor="local", workers=2)
"""

from shipyard.pipelines._pipeline import Pipeline, pipeline
from shipyard.pipelines.definition import Dag, PipelineDefinitionError, Step, step
from shipyard.pipelines.runner import PipelineRun, run_pipeline
from shipyard.pipelines.targets import resume, run_target
from shipyard.pipelines.types import Dataset, Model

__all__ = [
    "Dag",
    "Dataset",
    "Model",
    "Pipeline",
    "PipelineDefinitionError",
    "PipelineRun",
    "Step",
    "pipeline",
    "resume",
    "run_pipeline",
    "run_target",
    "step",
]
