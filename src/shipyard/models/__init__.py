"""Model packages: save a model in a safe format with its signature, load it back, predict with validation.

>>> from shipyard.models import save_model, load_model
>>> info = save_model(model, Path("pkg"), train_data=train_df)
>>> load_model(Path("pkg"), info).predict(rows)

Flavors (one module each under ``shipyard.models.flavors``): sklearn (skops), xgboost, lightgbm (native
formats), onnx, and python_function (cloudpickle; unsafe, loaded only with ``trust_unsafe=True``).

The names below are loaded on first use, so ``import shipyard.models`` imports neither numpy nor pyarrow.

``shipyard.models`` is also what users reach as ``sy.models``: any other public name (``load``,
``set_alias``, ``get``, ``versions``, …) is the default client's model registry (``Client.models``),
so ``sy.models.load("churn@champion")`` works whether or not this package has been imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipyard.models._environment import VersionMismatchWarning
    from shipyard.models.flavors import FLAVORS
    from shipyard.models.package import LoadedModel, PackageInfo, load_model, save_model
    from shipyard.models.signature import ColumnSpec, Signature, SignatureMismatch, infer_signature, validate_input

__all__ = [
    "FLAVORS",
    "ColumnSpec",
    "LoadedModel",
    "PackageInfo",
    "Signature",
    "SignatureMismatch",
    "VersionMismatchWarning",
    "infer_signature",
    "load_model",
    "save_model",
    "validate_input",
]

# name → module that defines it; imported only when the name is first used (PEP 562).
_HOME = {
    "VersionMismatchWarning": "_environment",
    "FLAVORS": "flavors",
    "LoadedModel": "package",
    "PackageInfo": "package",
    "load_model": "package",
    "save_model": "package",
    "ColumnSpec": "signature",
    "Signature": "signature",
    "SignatureMismatch": "signature",
    "infer_signature": "signature",
    "validate_input": "signature",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        return _registry_attribute(name)
    value = getattr(importlib.import_module(f"shipyard.models.{module}"), name)
    globals()[name] = value
    return value


def _registry_attribute(name: str) -> Any:
    from shipyard.registry.service import Models

    if name.startswith("_") or not hasattr(Models, name):
        raise AttributeError(f"module 'shipyard.models' has no attribute {name!r}")
    import shipyard

    return getattr(shipyard._client().models, name)


def __dir__() -> list[str]:
    from shipyard.registry.service import Models

    return sorted({*globals(), *__all__, *(n for n in dir(Models) if not n.startswith("_"))})
