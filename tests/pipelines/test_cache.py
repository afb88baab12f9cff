"""The cache key: code (with the project-local code it calls), dependencies, parameters and inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

import shipyard as sy
from shipyard.core.errors import InvalidInput
from shipyard.pipelines.cache import cache_key, fingerprint
from tests.pipelines.conftest import WritePipeline

SOURCE = """
import json
import shipyard as sy
from helpers import clean

@sy.step
def tidy(x: int) -> str:
    return json.dumps(clean(x))

@sy.pipeline
def flow(x: int = 1):
    return tidy(x)
"""


def _fingerprint(write_pipeline: WritePipeline, source: str = SOURCE) -> str:
    pipeline = write_pipeline(source)
    return fingerprint(pipeline.build().nodes["tidy"].step)


def test_the_same_code_gives_the_same_fingerprint(write_pipeline: WritePipeline, tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("def clean(x):\n    return x\n")
    assert _fingerprint(write_pipeline) == _fingerprint(write_pipeline)


def test_editing_the_step_changes_its_fingerprint(write_pipeline: WritePipeline, tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("def clean(x):\n    return x\n")
    before = _fingerprint(write_pipeline)
    assert _fingerprint(write_pipeline, SOURCE.replace("json.dumps(clean(x))", "json.dumps(clean(x) + 1)")) != before


def test_editing_a_project_local_helper_it_calls_changes_its_fingerprint(
    write_pipeline: WritePipeline, tmp_path: Path
) -> None:
    import importlib
    import sys

    helpers = tmp_path / "helpers.py"
    helpers.write_text("def clean(x):\n    return x\n")
    before = _fingerprint(write_pipeline)
    helpers.write_text("def clean(x):\n    return -x\n")
    importlib.reload(sys.modules["helpers"])
    assert _fingerprint(write_pipeline) != before


def test_declared_dependencies_are_part_of_the_fingerprint() -> None:
    def work(x: int) -> int:
        return x

    assert fingerprint(sy.step(work)) != fingerprint(sy.step(dependencies=["numpy"])(work))
    with pytest.raises(InvalidInput, match="'no-such-package', which is not installed"):
        fingerprint(sy.step(dependencies=["no-such-package"])(work))


def test_parameters_inputs_and_project_change_the_key() -> None:
    base = cache_key("p", "sha256:code", {"lr": 0.1}, {"raw": "sha256:a"})
    assert base == cache_key("p", "sha256:code", {"lr": 0.1}, {"raw": "sha256:a"})
    assert base != cache_key("p", "sha256:code", {"lr": 0.2}, {"raw": "sha256:a"})
    assert base != cache_key("p", "sha256:code", {"lr": 0.1}, {"raw": "sha256:b"})
    assert base != cache_key("q", "sha256:code", {"lr": 0.1}, {"raw": "sha256:a"})
