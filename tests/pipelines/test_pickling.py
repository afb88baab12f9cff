"""Shipping a task's code by value keeps the user's file name and lines, whatever cloudpickle does with them."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import cloudpickle
import pytest

from shipyard.pipelines._pickling import dumps

SOURCE = """
SCALE = 3

def outer(x):
    inner = lambda y: y * SCALE  # noqa: E731
    return inner(x)

def fail():
    raise ValueError("from the user's file")
"""


@pytest.fixture
def user_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """A module imported from a file and shipped by value, as the pipeline loader does with a pipeline file."""
    path = tmp_path / "user_code.py"
    path.write_text(SOURCE)
    spec = importlib.util.spec_from_file_location("user_code_for_pickling", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    cloudpickle.register_pickle_by_value(module)
    yield module
    cloudpickle.unregister_pickle_by_value(module)


def test_code_shipped_by_value_keeps_its_file_lines_and_nested_code(user_code: ModuleType, tmp_path: Path) -> None:
    outer = cloudpickle.loads(dumps(user_code.outer))
    assert outer is not user_code.outer and outer(2) == 6
    assert outer.__code__.co_filename == str(tmp_path / "user_code.py")
    assert outer.__code__.co_firstlineno == 4
    nested = [c for c in outer.__code__.co_consts if hasattr(c, "co_filename")]
    assert [c.co_filename for c in nested] == [str(tmp_path / "user_code.py")]


def test_a_traceback_through_shipped_code_shows_the_users_source_line(user_code: ModuleType, tmp_path: Path) -> None:
    fail = cloudpickle.loads(dumps(user_code.fail))
    with pytest.raises(ValueError, match="from the user's file") as caught:
        fail()
    shown = "".join(traceback.format_exception(caught.value))
    assert f'File "{tmp_path / "user_code.py"}", line 9, in fail\n    raise ValueError' in shown
