"""XGBoost models (the scikit-learn wrappers and bare ``Booster``), in XGBoost's own UBJSON format.

The native format holds trees and parameters only, so loading it runs no code. The wrapper class is
recorded by name and looked up in an allow-list, never imported from a dotted path found in metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.core.errors import CorruptArtifact, InvalidInput
from shipyard.packaging._tables import require, to_matrix
from shipyard.packaging.flavors.base import Flavor, Predictor, SaveContext, model_file, mro_modules

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
    from numpy.typing import NDArray

FILE = "model.ubj"
CLASSES = ("XGBClassifier", "XGBRegressor", "XGBRanker", "XGBRFClassifier", "XGBRFRegressor", "Booster")


def _xgboost() -> Any:
    return require("xgboost", package="xgboost", extra="xgboost", purpose="The xgboost flavor")


def _booster(model: Any) -> Any:
    return model if type(model).__name__ == "Booster" else model.get_booster()


class XGBoostPredictor(Predictor):
    def __init__(self, model: Any, feature_names: list[str] | None) -> None:
        self._model = model
        self._is_booster = type(model).__name__ == "Booster"
        self._feature_names = feature_names

    def predict(self, table: pa.Table) -> NDArray[Any]:
        x = to_matrix(table, np.float32, library="XGBoost")  # XGBoost computes in float32 anyway
        if self._is_booster:
            # A Booster fitted with feature names refuses a DMatrix without them.
            dmatrix = _xgboost().DMatrix(x, feature_names=self._feature_names)
            return np.asarray(self._model.predict(dmatrix))
        return np.asarray(self._model.predict(x))

    @property
    def has_predict_proba(self) -> bool:
        return not self._is_booster and hasattr(self._model, "predict_proba")

    def predict_proba(self, table: pa.Table) -> NDArray[Any]:
        return np.asarray(self._model.predict_proba(to_matrix(table, np.float32, library="XGBoost")))


class XGBoostFlavor(Flavor):
    name = "xgboost"
    extra = "xgboost"
    libraries = {"xgboost": ("xgboost", 1), "numpy": ("numpy", 1)}

    @classmethod
    def matches(cls, model: object) -> bool:
        return any(m == "xgboost" or m.startswith("xgboost.") for m in mro_modules(model))

    def input_names(self, model: object) -> list[str] | None:
        names = _booster(model).feature_names
        return None if names is None else [str(n) for n in names]

    def n_inputs(self, model: object) -> int | None:
        return int(_booster(model).num_features())

    def save(self, model: object, folder: Path, context: SaveContext) -> dict[str, Any]:
        xgb = _xgboost()
        # A user's subclass is saved as the XGBoost class it extends: the native format keeps no Python code.
        model_class = next((c.__name__ for c in type(model).__mro__ if c.__name__ in CLASSES), None)
        if model_class is None or not isinstance(model, (xgb.XGBModel, xgb.Booster)):
            raise InvalidInput(f"{type(model).__qualname__} is not an XGBoost model class the flavor can save.")
        model.save_model(folder / FILE)
        return {"file": FILE, "model_class": model_class, "feature_names": self.input_names(model)}

    def load(self, folder: Path, meta: Mapping[str, Any], *, trust_unsafe: bool) -> object:
        xgb = _xgboost()
        path = model_file(folder, meta, FILE)
        model_class = str(meta.get("model_class", "Booster"))
        if model_class not in CLASSES:
            raise CorruptArtifact(
                f"flavor_meta names an unknown XGBoost class {model_class!r}; expected one of {CLASSES}."
            )
        try:
            if model_class == "Booster":
                return xgb.Booster(model_file=str(path))
            model = getattr(xgb, model_class)()
            model.load_model(str(path))
            return model
        except xgb.core.XGBoostError as exc:
            raise CorruptArtifact(f"{path} is not a readable XGBoost model: {exc}") from exc

    def wrap(self, model: object, meta: Mapping[str, Any]) -> Predictor:
        names = meta.get("feature_names")
        return XGBoostPredictor(model, None if names is None else [str(n) for n in names])
