"""Model flavors: one module per library, loaded only when used.

``FLAVORS`` maps a flavor's name to ``"module:Class"``. Detection asks the flavors in table order, so a
library whose models also subclass scikit-learn's base classes (XGBoost, LightGBM) must come before
``sklearn``. ``python_function`` (cloudpickle) is never detected: running pickled code on load must be
something the user asks for by name.
"""

from __future__ import annotations

import importlib

from shipyard.core.errors import InvalidInput
from shipyard.packaging.flavors.base import Flavor

__all__ = ["FLAVORS", "detect_flavor", "get_flavor"]

FLAVORS: dict[str, str] = {
    "xgboost": "shipyard.packaging.flavors.xgboost:XGBoostFlavor",
    "lightgbm": "shipyard.packaging.flavors.lightgbm:LightGBMFlavor",
    "onnx": "shipyard.packaging.flavors.onnx:OnnxFlavor",
    "sklearn": "shipyard.packaging.flavors.sklearn:SklearnFlavor",
    "python_function": "shipyard.packaging.flavors.python_function:PythonFunctionFlavor",
}

_loaded: dict[str, Flavor] = {}


def get_flavor(name: str) -> Flavor:
    """The flavor called ``name``; ``InvalidInput`` listing the flavors if there is none."""
    flavor = _loaded.get(name)
    if flavor is not None:
        return flavor
    target = FLAVORS.get(name)
    if target is None:
        raise InvalidInput(f"Unknown flavor {name!r}. Known flavors: {', '.join(FLAVORS)}.")
    module, _, attr = target.partition(":")
    flavor = getattr(importlib.import_module(module), attr)()
    assert isinstance(flavor, Flavor)
    _loaded[name] = flavor
    return flavor


def detect_flavor(model: object) -> Flavor:
    """The flavor that can save ``model``, judged from its type; ``InvalidInput`` if none can."""
    for name in FLAVORS:
        flavor = get_flavor(name)
        if flavor.matches(model):
            return flavor
    detectable = [name for name in FLAVORS if name != "python_function"]
    raise InvalidInput(
        f"No flavor can save a {type(model).__module__}.{type(model).__qualname__}. "
        f"Known flavors: {', '.join(detectable)}. "
        "For any other object with a .predict method, pass flavor='python_function': it is saved with "
        "cloudpickle, a pickle-based format that runs code when loaded, so the package is marked unsafe_format "
        "and loading it needs trust_unsafe=True."
    )
