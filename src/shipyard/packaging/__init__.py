"""Model packages: save a model in a safe format with its signature, load it back, predict with validation.

>>> from shipyard.packaging import save_model, load_model
>>> info = save_model(model, Path("pkg"), train_data=train_df)
>>> load_model(Path("pkg"), info).predict(rows)

Flavors (one module each under ``shipyard.packaging.flavors``): sklearn (skops), xgboost, lightgbm (native
formats), onnx, and python_function (cloudpickle; unsafe, loaded only with ``trust_unsafe=True``).

The names below are loaded on first use, so ``import shipyard.packaging`` imports neither numpy nor pyarrow.

The model registry (``sy.models``: register, alias, load by reference) is ``shipyard.registry``; this
package only writes and reads the files of one model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipyard.packaging._environment import VersionMismatchWarning
    from shipyard.packaging.flavors import FLAVORS
    from shipyard.packaging.package import LoadedModel, PackageInfo, load_model, save_model
    from shipyard.packaging.signature import ColumnSpec, Signature, SignatureMismatch, infer_signature, validate_input

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
        raise AttributeError(f"module 'shipyard.packaging' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"shipyard.packaging.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
