"""LightGBM models (the scikit-learn wrappers and bare ``Booster``), in LightGBM's own text format.

The text format holds the booster only, not the scikit-learn wrapper around it. What the wrapper adds
at predict time is small and recorded in ``flavor_meta``: for a classifier, its class labels, from which
``predict`` maps the booster's probabilities back to labels exactly as ``LGBMClassifier.predict`` does.
Both the in-memory model at save time and the loaded booster predict through that same code path.
"""

from __future__ import annotations

import re
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

FILE = "model.txt"
# LightGBM names the features of a model fitted on an array Column_0, Column_1, …: those are not names.
_DEFAULT_NAME = re.compile(r"Column_\d+")


def _lightgbm() -> Any:
    return require("lightgbm", package="lightgbm", extra="lightgbm", purpose="The lightgbm flavor")


def _booster(model: Any) -> Any:
    return model if type(model).__name__ == "Booster" else model.booster_


def _kind(model: object) -> str:
    names = {c.__name__ for c in type(model).__mro__}
    for kind, cls in (("classifier", "LGBMClassifier"), ("regressor", "LGBMRegressor"), ("ranker", "LGBMRanker")):
        if cls in names:
            return kind
    return "booster"


class LightGBMPredictor(Predictor):
    def __init__(self, booster: Any, classes: NDArray[Any] | None) -> None:
        self._booster = booster
        self._classes = classes

    def _raw(self, table: pa.Table) -> NDArray[Any]:
        return np.asarray(self._booster.predict(to_matrix(table, library="LightGBM")))

    def predict(self, table: pa.Table) -> NDArray[Any]:
        if self._classes is None:
            return self._raw(table)
        return np.asarray(self._classes[np.argmax(self.predict_proba(table), axis=1)])

    @property
    def has_predict_proba(self) -> bool:
        return self._classes is not None

    def predict_proba(self, table: pa.Table) -> NDArray[Any]:
        raw = self._raw(table)
        # A binary booster gives P(class 1) only; the wrapper's predict_proba stacks both columns.
        return raw if raw.ndim == 2 else np.column_stack([1.0 - raw, raw])


class LightGBMFlavor(Flavor):
    name = "lightgbm"
    extra = "lightgbm"
    libraries = {"lightgbm": ("lightgbm", 1), "numpy": ("numpy", 1)}

    @classmethod
    def matches(cls, model: object) -> bool:
        return any(m == "lightgbm" or m.startswith("lightgbm.") for m in mro_modules(model))

    def input_names(self, model: object) -> list[str] | None:
        names = [str(n) for n in _booster(model).feature_name()]
        return None if all(_DEFAULT_NAME.fullmatch(n) for n in names) else names

    def n_inputs(self, model: object) -> int | None:
        return int(_booster(model).num_feature())

    def save(self, model: object, folder: Path, context: SaveContext) -> dict[str, Any]:
        _lightgbm()
        kind = _kind(model)
        if kind != "booster" and callable(getattr(model, "objective", None)):
            raise InvalidInput(
                "This LightGBM model has a custom objective function, which LightGBM's text format cannot hold, "
                "so the loaded model would predict raw scores. Save it with flavor='python_function' instead."
            )
        _booster(model).save_model(str(folder / FILE))
        classes = getattr(model, "classes_", None) if kind == "classifier" else None
        return {
            "file": FILE,
            "kind": kind,
            "classes": None if classes is None else np.asarray(classes).tolist(),
            "feature_names": self.input_names(model),
        }

    def load(self, folder: Path, meta: Mapping[str, Any], *, trust_unsafe: bool) -> object:
        lgb = _lightgbm()
        path = model_file(folder, meta, FILE)
        try:
            return lgb.Booster(model_file=str(path))
        except lgb.basic.LightGBMError as exc:
            raise CorruptArtifact(f"{path} is not a readable LightGBM model: {exc}") from exc

    def wrap(self, model: object, meta: Mapping[str, Any]) -> Predictor:
        classes = meta.get("classes")
        return LightGBMPredictor(_booster(model), None if classes is None else np.asarray(classes))
