"""The xgboost and lightgbm flavors: native formats, what the wrappers add, and what they cannot hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipyard.core.errors import InvalidInput
from shipyard.packaging import load_model, save_model

from ..conftest import FEATURES


def test_xgboost_records_the_wrapper_class_and_feature_names(train: pd.DataFrame, tmp_path: Path) -> None:
    import xgboost as xgb

    info = save_model(xgb.XGBClassifier(n_estimators=2).fit(train[FEATURES], train.label), tmp_path, train_data=train)
    assert info.flavor_meta == {"file": "model.ubj", "model_class": "XGBClassifier", "feature_names": FEATURES}


def test_lightgbm_fitted_on_numpy_has_no_feature_names(train: pd.DataFrame, tmp_path: Path) -> None:
    import lightgbm as lgb

    model = lgb.LGBMRegressor(n_estimators=2, verbose=-1).fit(train[FEATURES].to_numpy(), train.a)
    with pytest.raises(InvalidInput, match="takes 3 features, but train_data has 5 columns"):
        save_model(model, tmp_path, train_data=train)  # Column_0.. are not names to select by


def test_lightgbm_custom_objective_is_refused(train: pd.DataFrame, tmp_path: Path) -> None:
    import lightgbm as lgb

    def squared(y: Any, pred: Any) -> tuple[Any, Any]:
        return pred - y, np.ones_like(pred)

    model = lgb.LGBMRegressor(n_estimators=2, objective=squared, verbose=-1).fit(train[FEATURES], train.a)
    with pytest.raises(InvalidInput, match=r"custom objective.*python_function"):
        save_model(model, tmp_path, train_data=train)


def test_boosters_take_nullable_columns_as_missing_values(train: pd.DataFrame, tmp_path: Path) -> None:
    import xgboost as xgb

    holes = train.assign(a=train.a.where(train.index % 5 != 0))
    model = xgb.XGBRegressor(n_estimators=2).fit(holes[FEATURES], holes.b)
    info = save_model(model, tmp_path, train_data=holes)
    np.testing.assert_array_equal(load_model(tmp_path, info).predict(holes[FEATURES]), model.predict(holes[FEATURES]))
