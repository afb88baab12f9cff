"""A saved package must load in another process: code it names that no other process can import is refused
at save, a package that predicts otherwise once loaded too, and code missing at load is named, never a raw
AttributeError or ImportError."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipyard.core.errors import InvalidInput
from shipyard.packaging import load_model, save_model
from shipyard.packaging._portability import UnloadableModel

from .conftest import FEATURES

PRIVATE = "shipyard_test_private_features"


def doubled(z: Any) -> Any:
    return z * 2


def _pipeline(func: Callable[[Any], Any], train: pd.DataFrame) -> Any:
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    return make_pipeline(FunctionTransformer(func), LinearRegression()).fit(train[FEATURES], train.a)


@pytest.fixture
def private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A module only this process can import: its folder was put on sys.path at run time."""
    folder = tmp_path / "private"
    folder.mkdir()
    (folder / f"{PRIVATE}.py").write_text(
        "def halved(z):\n    return z / 2\n\nclass Half:\n    def predict(self, x):\n        return x['a'] / 2\n"
    )
    monkeypatch.delitem(sys.modules, PRIVATE, raising=False)  # undone last: the module is gone after the test
    monkeypatch.syspath_prepend(str(folder))
    return importlib.import_module(PRIVATE)


def _forget(private: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """What another process sees: a package naming a module it cannot import."""
    folder = str(Path(private.__file__ or "").parent)
    monkeypatch.delitem(sys.modules, PRIVATE)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != folder])
    importlib.invalidate_caches()


def test_a_lambda_is_refused_at_save_naming_it_where_it_is_used_and_what_to_do(
    train: pd.DataFrame, tmp_path: Path
) -> None:
    model = _pipeline(lambda z: z * 2, train)
    with pytest.raises(
        InvalidInput,
        match=r"<lambda> \(used as FunctionTransformer\.func\): a lambda .*importable module.*flavor='python_function'",
    ) as refused:
        save_model(model, tmp_path, train_data=train)
    assert isinstance(refused.value, UnloadableModel)
    assert list(tmp_path.iterdir()) == []


def test_a_function_of_main_is_refused_though_this_process_would_load_it(
    train: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def tripled(z: Any) -> Any:
        return z * 3

    tripled.__module__, tripled.__qualname__ = "__main__", "tripled"  # as if defined in the user's script
    monkeypatch.setattr(sys.modules["__main__"], "tripled", tripled, raising=False)
    with pytest.raises(UnloadableModel, match=r"__main__\.tripled .*defined in __main__ \(a script or notebook\)"):
        save_model(_pipeline(tripled, train), tmp_path, train_data=train)


def test_a_function_defined_inside_a_function_is_refused(train: pd.DataFrame, tmp_path: Path) -> None:
    def local(z: Any) -> Any:
        return z * 3

    with pytest.raises(UnloadableModel, match=r"test_portability\.local .*has no attribute 'local'"):
        save_model(_pipeline(local, train), tmp_path, train_data=train)


def test_a_module_only_this_process_can_import_is_refused_and_accepted_on_pythonpath(
    private: ModuleType, train: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _pipeline(private.halved, train)
    with pytest.raises(UnloadableModel, match=rf"{PRIVATE}\.halved .*a fresh Python process .*does not find"):
        save_model(model, tmp_path / "refused", train_data=train)
    monkeypatch.setenv("PYTHONPATH", str(Path(private.__file__ or "").parent))  # now a server started here finds it
    info = save_model(model, tmp_path / "saved", train_data=train)
    np.testing.assert_array_equal(
        load_model(tmp_path / "saved", info).predict(train[FEATURES]), model.predict(train[FEATURES])
    )


def test_a_function_of_an_importable_module_is_saved_and_loads(train: pd.DataFrame, tmp_path: Path) -> None:
    model = _pipeline(doubled, train)
    info = save_model(model, tmp_path, train_data=train)
    assert info.flavor_meta["trusted_types"] == ["tests.packaging.test_portability.doubled"]
    np.testing.assert_array_equal(load_model(tmp_path, info).predict(train[FEATURES]), model.predict(train[FEATURES]))


def test_a_model_that_predicts_otherwise_once_loaded_is_refused(train: pd.DataFrame, tmp_path: Path) -> None:
    import xgboost as xgb

    class Shifted(xgb.XGBRegressor):  # the native format keeps the trees, not this override
        def predict(self, x: Any, **kwargs: Any) -> Any:
            return super().predict(x, **kwargs) + 1

    model = Shifted(n_estimators=3).fit(train[FEATURES], train.a)
    with pytest.raises(UnloadableModel, match=r"predicts otherwise once saved and loaded back.*python_function"):
        save_model(model, tmp_path, train_data=train)
    assert list(tmp_path.iterdir()) == []


def test_loading_a_package_whose_module_is_missing_names_it(
    private: ModuleType, train: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(Path(private.__file__ or "").parent))
    info = save_model(_pipeline(private.halved, train), tmp_path / "pkg", train_data=train)
    _forget(private, monkeypatch)
    with pytest.raises(UnloadableModel, match=rf"{PRIVATE}\.halved .*cannot be imported here .*No module named"):
        load_model(tmp_path / "pkg", info)


def test_loading_a_package_whose_function_is_gone_names_it(
    private: ModuleType, train: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(Path(private.__file__ or "").parent))
    info = save_model(_pipeline(private.halved, train), tmp_path / "pkg", train_data=train)
    monkeypatch.delattr(private, "halved")  # renamed since the model was saved
    with pytest.raises(UnloadableModel, match=rf"{PRIVATE}\.halved .*has no attribute 'halved'"):
        load_model(tmp_path / "pkg", info)


def test_a_pickle_whose_class_is_missing_at_load_is_a_shipyard_error(
    private: ModuleType, train: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = save_model(private.Half(), tmp_path / "pkg", flavor="python_function", input_example=train[["a"]])
    _forget(private, monkeypatch)
    with pytest.raises(UnloadableModel, match=rf"ModuleNotFoundError: No module named '{PRIVATE}'"):
        load_model(tmp_path / "pkg", info, trust_unsafe=True)


def test_loading_a_lambda_saved_before_this_check_existed_names_it(
    train: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shipyard.packaging.package

    monkeypatch.setattr(shipyard.packaging.package, "_check_loads", lambda *args: None)  # an older Shipyard
    info = save_model(_pipeline(lambda z: z * 2, train), tmp_path, train_data=train)
    monkeypatch.undo()
    with pytest.raises(UnloadableModel, match=r"<lambda> \(used as FunctionTransformer\.func\): a lambda has no name"):
        load_model(tmp_path, info)
