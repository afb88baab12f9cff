"""One conformance suite for every flavor: detect, save, load, predict the same, refuse what it must."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shipyard.core.errors import InvalidInput
from shipyard.packaging import FLAVORS, PackageInfo, load_model, save_model
from shipyard.packaging.flavors import detect_flavor, get_flavor

from .conftest import Case


def test_round_trip_predicts_exactly_what_the_model_predicts(case: Case, tmp_path: Path) -> None:
    info = save_model(case.model, tmp_path / "pkg", **case.save)
    # What the registry stores is the JSON form, so load from that.
    info = PackageInfo.from_dict(json.loads(json.dumps(info.to_dict())))
    loaded = load_model(tmp_path / "pkg", info, trust_unsafe=True)
    shutil.rmtree(tmp_path / "pkg")  # the registry loads from a temporary folder: nothing may be read lazily
    np.testing.assert_array_equal(loaded.predict(case.data), case.predict())
    assert loaded.has_predict_proba is (case.proba is not None)
    if case.proba is not None:
        np.testing.assert_array_equal(loaded.predict_proba(case.data), case.proba())


def test_saved_package_is_a_few_flat_files_with_the_recorded_environment(case: Case, tmp_path: Path) -> None:
    info = save_model(case.model, tmp_path, **case.save)
    assert info.flavor == case.flavor
    assert all(p.is_file() for p in tmp_path.iterdir()) and len(list(tmp_path.iterdir())) <= 3
    assert info.environment["python"] and info.environment["libraries"]["numpy"] == np.__version__


def test_detection_picks_the_models_flavor(case: Case) -> None:
    if case.flavor == "python_function":
        with pytest.raises(InvalidInput, match="python_function"):
            detect_flavor(case.model)
    else:
        assert detect_flavor(case.model).name == case.flavor


def test_only_pickle_based_flavors_are_unsafe() -> None:
    assert {name for name in FLAVORS if get_flavor(name).unsafe_format} == {"python_function"}


def test_detection_imports_no_model_library() -> None:
    code = (
        "import sys\n"
        "from shipyard.packaging.flavors import detect_flavor\n"
        "class Thing: pass\n"
        "try:\n    detect_flavor(Thing())\nexcept ValueError:\n    pass\n"
        "heavy = {'sklearn', 'skops', 'xgboost', 'lightgbm', 'onnx', 'onnxruntime', 'pandas', 'polars'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_import_shipyard_packaging_loads_neither_numpy_nor_pyarrow() -> None:
    code = (
        "import sys, shipyard.packaging\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'numpy', 'pyarrow'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
