"""Any object with ``.predict`` (and optionally ``.predict_proba``), saved with cloudpickle.

Unpickling runs arbitrary code, so packages of this flavor are always ``unsafe_format`` and
``load_model`` refuses them without ``trust_unsafe=True``. The model is fed the kind of table it was
saved with (pandas, polars, Arrow; pandas for dicts and lists), recorded as ``input_format``.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.core.errors import CorruptArtifact, InvalidInput, PermissionDenied
from shipyard.packaging._tables import to_pandas, to_polars
from shipyard.packaging.flavors.base import Flavor, Predictor, SaveContext, model_file

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
    from numpy.typing import NDArray

FILE = "model.pkl"
PURPOSE = "This python_function model (saved with pandas input)"


class PythonFunctionPredictor(Predictor):
    def __init__(self, model: Any, input_format: str) -> None:
        self._model = model
        self._format = input_format

    def _features(self, table: pa.Table) -> Any:
        if self._format == "arrow":
            return table
        if self._format == "polars":
            return to_polars(table, purpose="This python_function model (saved with polars input)")
        return to_pandas(table, purpose=PURPOSE)

    def predict(self, table: pa.Table) -> NDArray[Any]:
        return np.asarray(self._model.predict(self._features(table)))

    @property
    def has_predict_proba(self) -> bool:
        return callable(getattr(self._model, "predict_proba", None))

    def predict_proba(self, table: pa.Table) -> NDArray[Any]:
        return np.asarray(self._model.predict_proba(self._features(table)))


class PythonFunctionFlavor(Flavor):
    name = "python_function"
    extra = "pandas"
    unsafe_format = True
    # A pickle refers to classes by module path and to bytecode: both change between Python minor versions.
    libraries = {"python": ("python", 2), "cloudpickle": ("cloudpickle", 1), "numpy": ("numpy", 1)}

    @classmethod
    def matches(cls, model: object) -> bool:
        return False  # never chosen implicitly: see shipyard.packaging.flavors

    def save(self, model: object, folder: Path, context: SaveContext) -> dict[str, Any]:
        import cloudpickle  # type: ignore[import-untyped, unused-ignore]

        if not callable(getattr(model, "predict", None)):
            raise InvalidInput(
                f"flavor='python_function' needs an object with a .predict(table) method; "
                f"{type(model).__qualname__} has none."
            )
        with (folder / FILE).open("wb") as f:
            cloudpickle.dump(model, f)
        input_format = context.data_kind if context.data_kind in ("polars", "arrow") else "pandas"
        return {"file": FILE, "input_format": input_format, "model_class": type(model).__qualname__}

    def load(self, folder: Path, meta: Mapping[str, Any], *, trust_unsafe: bool) -> object:
        # load_model has refused untrusted packages already; this is the last line of defence.
        if not trust_unsafe:
            raise PermissionDenied("A python_function model is loaded only with trust_unsafe=True.")
        path = model_file(folder, meta, FILE)
        with path.open("rb") as f:
            try:
                return pickle.load(f)  # cloudpickle writes standard pickles
            except (pickle.UnpicklingError, EOFError) as exc:
                raise CorruptArtifact(f"{path} is not a readable pickle: {exc}") from exc

    def wrap(self, model: object, meta: Mapping[str, Any]) -> Predictor:
        return PythonFunctionPredictor(model, str(meta.get("input_format", "pandas")))
