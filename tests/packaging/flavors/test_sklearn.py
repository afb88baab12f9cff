"""The sklearn flavor: skops files, trusted only for the types recorded when they were saved."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shipyard.core.errors import PermissionDenied
from shipyard.packaging import PackageInfo, load_model, save_model

from ..conftest import FEATURES


@pytest.fixture
def packages(train: pd.DataFrame, tmp_path: Path) -> dict[str, tuple[Path, PackageInfo]]:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    made = {}
    for name, model in (("linear", LogisticRegression()), ("forest", RandomForestClassifier(n_estimators=3))):
        model.fit(train[FEATURES], train.label)
        made[name] = (tmp_path / name, save_model(model, tmp_path / name, train_data=train))
    return made


def test_types_outside_skops_defaults_are_recorded_at_save(packages: dict[str, tuple[Path, PackageInfo]]) -> None:
    assert packages["linear"][1].flavor_meta["trusted_types"] == []
    assert packages["forest"][1].flavor_meta["trusted_types"] == ["sklearn.tree._tree.Tree"]


def test_a_file_holding_types_its_package_does_not_trust_is_refused(
    packages: dict[str, tuple[Path, PackageInfo]],
) -> None:
    folder, info = packages["linear"]
    shutil.copy(packages["forest"][0] / "model.skops", folder / "model.skops")  # a forest where a linear model was
    with pytest.raises(PermissionDenied, match=r"does not trust: sklearn\.tree\._tree\.Tree.*trust_unsafe=True"):
        load_model(folder, info)


def test_trust_unsafe_loads_such_a_file_anyway(
    packages: dict[str, tuple[Path, PackageInfo]], train: pd.DataFrame
) -> None:
    folder, info = packages["linear"]
    shutil.copy(packages["forest"][0] / "model.skops", folder / "model.skops")
    assert load_model(folder, info, trust_unsafe=True).predict(train[FEATURES]).shape == (120,)


def test_a_model_fitted_on_numpy_is_fed_numpy_in_signature_order(train: pd.DataFrame, tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(train[FEATURES].to_numpy(), train.a)
    info = save_model(model, tmp_path, input_example=train[FEATURES].head())
    shuffled = train[["n", "b", "a"]]  # columns are matched by name, then stacked in training order
    # Equal up to rounding: the stacked array's memory layout may differ, and BLAS sums in another order.
    np.testing.assert_allclose(
        load_model(tmp_path, info).predict(shuffled), model.predict(train[FEATURES].to_numpy()), rtol=1e-12
    )


@pytest.mark.parametrize("name", ["linear", "forest"])
def test_a_model_loaded_in_a_child_process_predicts_as_one_loaded_here(
    packages: dict[str, tuple[Path, PackageInfo]], train: pd.DataFrame, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipyard.packaging.flavors.sklearn import SklearnFlavor

    folder, info = packages[name]
    here = load_model(folder, info)
    monkeypatch.setattr(SklearnFlavor, "load", None)  # this process can no longer load: the child must
    apart = load_model(folder, info, separate_process=True)
    np.testing.assert_array_equal(apart.predict_proba(train[FEATURES]), here.predict_proba(train[FEATURES]))


def test_a_child_that_cannot_load_leaves_the_refusal_to_this_process(
    packages: dict[str, tuple[Path, PackageInfo]],
) -> None:
    folder, info = packages["linear"]
    shutil.copy(packages["forest"][0] / "model.skops", folder / "model.skops")
    with pytest.raises(PermissionDenied, match=r"does not trust: sklearn\.tree\._tree\.Tree"):
        load_model(folder, info, separate_process=True)
    assert load_model(folder, info, trust_unsafe=True, separate_process=True).flavor == "sklearn"


def test_a_second_load_does_not_recompute_skops_trusted_types(
    packages: dict[str, tuple[Path, PackageInfo]], train: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    # skops lists the types it trusts by default from scikit-learn's all_estimators() and the public ufuncs of
    # numpy and scipy: ~0.75 s of CPU. It must be paid once per process, never once per load.
    import sklearn.utils
    import sklearn.utils.discovery
    import skops.io._trusted_types
    import skops.io._utils

    folder, info = packages["forest"]
    load_model(folder, info)  # the first load in this process may compute them
    calls = []
    for module, name in (
        (sklearn.utils, "all_estimators"),
        (sklearn.utils.discovery, "all_estimators"),
        (skops.io._trusted_types, "all_estimators"),
        (skops.io._utils, "get_public_type_names"),
        (skops.io._trusted_types, "get_public_type_names"),
    ):
        original = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _f=original, _n=name, **k: calls.append(_n) or _f(*a, **k))
    for _ in range(2):
        assert load_model(folder, info).predict(train[FEATURES]).shape == (120,)
    assert calls == []


def test_trust_recorded_for_one_package_does_not_carry_over_to_the_next_load(
    packages: dict[str, tuple[Path, PackageInfo]],
) -> None:
    forest_folder, forest_info = packages["forest"]
    load_model(forest_folder, forest_info)  # a load that trusts sklearn.tree._tree.Tree, as its package records
    folder, info = packages["linear"]
    load_model(folder, info)  # everything about loading is warm now
    shutil.copy(forest_folder / "model.skops", folder / "model.skops")  # a forest where a linear model was
    with pytest.raises(PermissionDenied, match=r"does not trust: sklearn\.tree\._tree\.Tree"):
        load_model(folder, info)
