"""The Ray executor's own behaviour: connecting, capacity, a missing extra.

Failures, crashes, timeouts, retries, caching and resume are tested on Ray and on the local executor
alike in test_runner.py (its ``executor`` fixture).
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import ray

import shipyard
from shipyard.core.entities import RunStatus, StepStatus
from shipyard.core.errors import MissingDependency
from shipyard.pipelines.executors import open_executor
from tests.pipelines.conftest import WritePipeline

FAN = """
import os, signal, time
import shipyard as sy

@sy.step
def double(x: int) -> int:
    return 2 * x

@sy.step
def add(a: int, b: int) -> int:
    return a + b

@sy.step
def shaky(x: int) -> int:
    return x

@sy.pipeline(project="p")
def fan(n: int = 3):
    return add(double(n), shaky(double(n + 1)))
"""


def _with_shaky(body: str, decorator: str = "@sy.step") -> str:
    return FAN.replace(
        "@sy.step\ndef shaky(x: int) -> int:\n    return x", f"{decorator}\ndef shaky(x: int) -> int:\n{body}"
    )


def test_an_unreachable_address_fails_at_once_and_says_how_to_check_it() -> None:
    # In a fresh interpreter: in this one a Ray instance may be initialised, and would be reused.
    code = (
        "from shipyard.pipelines.executors import open_executor\n"
        "try:\n    open_executor('ray', address='127.0.0.1:1')\n"
        "except Exception as exc:\n    print(type(exc).__name__, exc)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    assert out.startswith("InvalidInput Cannot connect to a Ray cluster at 127.0.0.1:1")
    assert "ray status" in out and "ray start --head" in out


def test_without_ray_installed_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingDependency, match=r"pip install 'shipyard\[ray\]'"):
        open_executor("ray")


@pytest.mark.usefixtures("ray_session")
def test_a_running_instance_is_reused_and_left_running() -> None:
    with open_executor("ray") as executor:
        assert executor.capacity == 2
    with open_executor("ray", workers=1) as executor:
        assert executor.capacity == 1
    assert ray.is_initialized()


@pytest.mark.usefixtures("ray_session")
def test_fan_out_and_in_gives_the_result_and_a_second_run_is_cached(
    client: shipyard.Client, write_pipeline: WritePipeline
) -> None:
    pipeline = write_pipeline(FAN)
    first = pipeline.run(params={"n": 3}, executor="ray", client=client)
    assert first.status is RunStatus.FINISHED and first.result == 14
    second = pipeline.run(params={"n": 3}, executor="ray", client=client)
    assert [s.status for s in second.steps] == [StepStatus.CACHED] * 4 and second.result == 14
