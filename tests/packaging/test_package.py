"""save_model / load_model: flavor choice, signature from data, safety, versions, missing libraries."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shipyard.core.errors import InvalidInput, MissingDependency, PermissionDenied
from shipyard.packaging import PackageInfo, VersionMismatchWarning, infer_signature, load_model, save_model

from .conftest import FEATURES, MeanModel


@pytest.fixture
def forest(train: pd.DataFrame) -> object:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=3, random_state=0).fit(train[FEATURES], train.label)


@pytest.fixture
def xgb_package(train: pd.DataFrame, tmp_path: Path) -> tuple[Path, PackageInfo]:
    import xgboost as xgb

    model = xgb.XGBRegressor(n_estimators=3).fit(train[FEATURES], train.a)
    return tmp_path, save_model(model, tmp_path, train_data=train)


def test_unknown_object_is_refused_listing_flavors_and_python_function(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"Known flavors: xgboost, lightgbm, onnx, sklearn\.") as err:
        save_model(object(), tmp_path, input_example={"a": [1]})
    assert "flavor='python_function'" in str(err.value) and "trust_unsafe=True" in str(err.value)


def test_unknown_flavor_name_lists_the_flavors(forest: object, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"Unknown flavor 'skl'. Known flavors: .*sklearn"):
        save_model(forest, tmp_path, flavor="skl", input_example={"a": [1.0]})


def test_a_flavor_that_cannot_save_the_model_says_so(forest: object, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="flavor='xgboost' cannot save a sklearn"):
        save_model(forest, tmp_path, flavor="xgboost", input_example={"a": [1.0]})


def test_signature_takes_the_models_feature_names_from_train_data(
    forest: object, train: pd.DataFrame, tmp_path: Path
) -> None:
    info = save_model(forest, tmp_path, train_data=train)  # label and city are not features of this model
    assert info.signature.column_names == FEATURES
    assert (info.signature.output, info.signature.output_shape) == ("integer", ())


def test_without_feature_names_train_data_must_have_exactly_the_models_width(
    train: pd.DataFrame, tmp_path: Path
) -> None:
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(train[FEATURES].to_numpy(), train.a)
    with pytest.raises(InvalidInput, match=r"takes 3 features, but train_data has 5 columns.*input_example="):
        save_model(model, tmp_path, train_data=train)
    assert list(tmp_path.iterdir()) == []


def test_nullability_comes_from_train_data_when_the_example_shows_no_nulls(
    forest: object, train: pd.DataFrame, tmp_path: Path
) -> None:
    holes = train.assign(b=train.b.where(train.index % 7 != 3))
    info = save_model(forest, tmp_path, input_example=holes.head(3), train_data=holes)
    assert [c.nullable for c in info.signature.inputs] == [False, True, False]


def test_an_explicit_signature_ignores_the_other_columns_of_train_data(
    forest: object, train: pd.DataFrame, tmp_path: Path
) -> None:
    signature = infer_signature(train[FEATURES])
    info = save_model(forest, tmp_path, signature=signature, train_data=train)
    assert info.signature.inputs == signature.inputs and info.signature.output == "integer"


def test_save_needs_data_or_a_signature(forest: object, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="input_example=, train_data= or signature="):
        save_model(forest, tmp_path)


def test_save_refuses_a_folder_that_is_not_empty(forest: object, train: pd.DataFrame, tmp_path: Path) -> None:
    (tmp_path / "other.txt").write_text("x")
    with pytest.raises(InvalidInput, match="not empty"):
        save_model(forest, tmp_path, train_data=train)


def test_a_model_that_cannot_predict_on_its_example_is_not_saved(train: pd.DataFrame, tmp_path: Path) -> None:
    model = MeanModel({"missing": 1.0})
    with pytest.raises(InvalidInput, match="failed to predict on the first 5 rows"):
        save_model(model, tmp_path, flavor="python_function", input_example=train[["a"]])
    assert list(tmp_path.iterdir()) == []


def test_unsafe_package_is_refused_without_trust_and_loads_with_it(train: pd.DataFrame, tmp_path: Path) -> None:
    info = save_model(MeanModel({"a": 1.0}), tmp_path, flavor="python_function", input_example=train[["a"]])
    assert info.unsafe_format
    with pytest.raises(PermissionDenied, match=r"pickle.*trust_unsafe=True"):
        load_model(tmp_path, info)
    with pytest.raises(PermissionDenied):  # metadata that calls a pickle safe does not make it so
        load_model(tmp_path, dataclasses.replace(info, unsafe_format=False))
    assert load_model(tmp_path, info, trust_unsafe=True).predict(train[["a"]]).shape == (120,)


def test_python_function_is_fed_the_table_kind_it_was_saved_with(train: pd.DataFrame, tmp_path: Path) -> None:
    class ArrowModel:
        def predict(self, table: pa.Table) -> list[int]:
            assert isinstance(table, pa.Table)
            return [1] * table.num_rows

    x = pa.Table.from_pandas(train[["a"]])
    info = save_model(ArrowModel(), tmp_path, flavor="python_function", input_example=x)
    assert info.flavor_meta["input_format"] == "arrow"
    assert load_model(tmp_path, info, trust_unsafe=True).predict(train[["a"]]).tolist() == [1] * 120


def test_loading_with_another_major_version_warns_naming_both(xgb_package: tuple[Path, PackageInfo]) -> None:
    import xgboost as xgb

    folder, info = xgb_package
    old = dataclasses.replace(info, environment={"python": "3.11.7", "libraries": {"xgboost": "1.7.6"}})
    with pytest.warns(VersionMismatchWarning, match=rf"xgboost 1\.7\.6 .* xgboost {xgb.__version__}"):
        load_model(folder, old)


def test_a_patch_release_of_a_library_does_not_warn(xgb_package: tuple[Path, PackageInfo]) -> None:
    import xgboost as xgb

    folder, info = xgb_package
    major = xgb.__version__.split(".")[0]
    load_model(folder, dataclasses.replace(info, environment={"libraries": {"xgboost": f"{major}.0.0"}}))


def test_scikit_learn_warns_on_another_minor_release(forest: object, train: pd.DataFrame, tmp_path: Path) -> None:
    info = save_model(forest, tmp_path, train_data=train)
    with pytest.warns(VersionMismatchWarning, match="scikit-learn 1.0.2"):
        load_model(tmp_path, dataclasses.replace(info, environment={"libraries": {"scikit-learn": "1.0.2"}}))


def test_missing_library_on_load_names_the_pip_install_line(
    xgb_package: tuple[Path, PackageInfo], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, info = xgb_package
    monkeypatch.setitem(sys.modules, "xgboost", None)  # what "not installed" looks like to import
    with pytest.raises(MissingDependency, match=r"pip install 'shipyard\[xgboost\]'"):
        load_model(folder, info)


def test_missing_library_on_save_names_the_pip_install_line(
    forest: object, train: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "skops", None)
    monkeypatch.setitem(sys.modules, "skops.io", None)
    with pytest.raises(MissingDependency, match=r"'skops'.*pip install 'shipyard\[sklearn\]'"):
        save_model(forest, tmp_path, train_data=train)


def test_predict_accepts_every_table_kind(xgb_package: tuple[Path, PackageInfo], train: pd.DataFrame) -> None:
    import polars as pl

    model = load_model(*xgb_package)
    rows = train[FEATURES].head(3)
    expected = model.predict(rows)
    for data in (pl.from_pandas(rows), pa.Table.from_pandas(rows), rows.to_dict("list"), rows.to_dict("records")):
        np.testing.assert_array_equal(model.predict(data), expected)


def test_predict_proba_of_a_model_without_one_is_invalid_input(
    xgb_package: tuple[Path, PackageInfo], train: pd.DataFrame
) -> None:
    model = load_model(*xgb_package)
    assert not model.has_predict_proba
    with pytest.raises(InvalidInput, match="no predict_proba"):
        model.predict_proba(train[FEATURES])


def test_a_value_the_model_rejects_is_invalid_input(train: pd.DataFrame, tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    model = make_pipeline(OneHotEncoder(), LogisticRegression()).fit(train[["city"]], train.label)
    info = save_model(model, tmp_path, train_data=train)
    with pytest.raises(InvalidInput, match="rejected the input: Found unknown categories"):
        load_model(tmp_path, info).predict({"city": ["rome"]})


def test_package_info_round_trips_through_a_dict(xgb_package: tuple[Path, PackageInfo]) -> None:
    _, info = xgb_package
    assert PackageInfo.from_dict(info.to_dict()) == info


def test_package_info_from_a_newer_shipyard_is_refused(xgb_package: tuple[Path, PackageInfo]) -> None:
    _, info = xgb_package
    with pytest.raises(InvalidInput, match=r"format version 2.*Upgrade Shipyard"):
        PackageInfo.from_dict({**info.to_dict(), "format_version": 2})
