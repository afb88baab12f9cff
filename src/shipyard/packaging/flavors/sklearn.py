"""scikit-learn estimators and pipelines, saved with skops (no pickle).

skops refuses to load any type it does not trust by default unless the caller names it. At save time we
ask skops which types in the new file are outside its defaults (e.g. ``sklearn.tree._tree.Tree``, a
user's own transformer) and record exactly that list in ``flavor_meta``; the saver vouches for it because
the file was written from their own in-memory model. On load only the recorded types are trusted, so a
file holding anything else is refused, naming the types, unless the caller passes ``trust_unsafe=True``.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import CorruptArtifact, PermissionDenied
from shipyard.packaging._tables import require, to_object_matrix, to_pandas
from shipyard.packaging.flavors.base import Flavor, Predictor, SaveContext, model_file, mro_modules

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
    from numpy.typing import NDArray

    from shipyard.packaging._portability import CodeReference

FILE = "model.skops"


def _skops_io() -> Any:
    require("sklearn", package="scikit-learn", extra="sklearn", purpose="The sklearn flavor")
    return require("skops.io", package="skops", extra="sklearn", purpose="The sklearn flavor")


class SklearnPredictor(Predictor):
    def __init__(self, model: Any, feature_names: list[str] | None) -> None:
        self._model = model
        self._feature_names = feature_names
        self.accepts_pandas = feature_names is not None  # type: ignore[misc]

    def _features(self, table: Any) -> Any:
        # A model fitted on a DataFrame selects columns by name (ColumnTransformer) and checks the names,
        # so it must get a DataFrame again; one fitted on an array gets an array in signature order.
        if self._feature_names is not None and not hasattr(table, "schema"):
            return table[self._feature_names]  # a DataFrame the fast path already validated
        if self._feature_names is not None:
            return to_pandas(table.select(self._feature_names), purpose="This scikit-learn model (fitted on pandas)")
        return to_object_matrix(table)

    def predict(self, table: pa.Table) -> NDArray[Any]:
        import numpy as np

        return np.asarray(self._model.predict(self._features(table)))

    @property
    def has_predict_proba(self) -> bool:
        return hasattr(self._model, "predict_proba")

    def predict_proba(self, table: pa.Table) -> NDArray[Any]:
        import numpy as np

        return np.asarray(self._model.predict_proba(self._features(table)))

    def native_matrix(self) -> tuple[Any, list[str] | None]:
        return self._model, self._feature_names


class SklearnFlavor(Flavor):
    name = "sklearn"
    extra = "sklearn"
    # scikit-learn does not promise that an estimator saved by one minor release works in another.
    libraries = {"scikit-learn": ("sklearn", 2), "skops": ("skops", 1), "numpy": ("numpy", 1)}
    # skops.io builds its default trusted types at import from scikit-learn's `all_estimators()`, which imports
    # every estimator module and scikit-learn's test utilities (pytest, pygments): 20-30 MB that a served
    # LogisticRegression never uses.
    loader_outweighs_model = True

    @classmethod
    def matches(cls, model: object) -> bool:
        return any(m == "sklearn" or m.startswith("sklearn.") for m in mro_modules(model))

    def input_names(self, model: object) -> list[str] | None:
        names = getattr(model, "feature_names_in_", None)
        return None if names is None else [str(n) for n in names]

    def n_inputs(self, model: object) -> int | None:
        n = getattr(model, "n_features_in_", None)
        return None if n is None else int(n)

    def save(self, model: object, folder: Path, context: SaveContext) -> dict[str, Any]:
        sio = _skops_io()
        path = folder / FILE
        sio.dump(model, path)
        return {
            "file": FILE,
            "trusted_types": sorted(sio.get_untrusted_types(file=path)),
            "feature_names_in": self.input_names(model),
            "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        }

    def load(self, folder: Path, meta: Mapping[str, Any], *, trust_unsafe: bool) -> object:
        sio = _skops_io()
        from skops.io.exceptions import UntrustedTypesFoundException  # type: ignore[import-untyped, unused-ignore]

        path = model_file(folder, meta, FILE)
        trusted = [str(t) for t in meta.get("trusted_types", [])]
        try:
            return sio.load(path, trusted=trusted)
        except UntrustedTypesFoundException:
            found = sorted(set(sio.get_untrusted_types(file=path)) - set(trusted))
            if not trust_unsafe:
                raise PermissionDenied(
                    f"{path} holds types its package does not trust: {', '.join(found)}. skops refuses them because "
                    "loading or using an unreviewed type can run code or crash the process. The package trusts "
                    f"only {', '.join(trusted) or 'skops defaults'}, recorded when it was saved. If you trust "
                    "where this file came from, load it with trust_unsafe=True."
                ) from None
            return sio.load(path, trusted=trusted + found)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:  # a truncated zip, a malformed schema
            raise CorruptArtifact(f"{path} is not a readable skops file: {exc}") from exc

    def wrap(self, model: object, meta: Mapping[str, Any]) -> Predictor:
        names = meta.get("feature_names_in")
        return SklearnPredictor(model, None if names is None else [str(n) for n in names])

    def references(self, folder: Path, meta: Mapping[str, Any], *, located: bool = False) -> list[CodeReference]:
        """The types skops does not trust by default, recorded at save (what a user's code shows up as);
        ``located`` finds where each is used in the file's ``schema.json``."""
        from shipyard.packaging._portability import CodeReference

        names = [str(t).rpartition(".") for t in meta.get("trusted_types", [])]
        references = [CodeReference(module, name) for module, _, name in names if module]
        if not located or not references:
            return references
        path = model_file(folder, meta, FILE)
        try:
            with zipfile.ZipFile(path) as archive:
                schema = json.loads(archive.read("schema.json"))
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise CorruptArtifact(f"{path} is not a readable skops file: {exc}") from exc
        where: dict[tuple[str, str], str] = {}
        _walk(schema, "", where)
        return [CodeReference(r.module, r.name, where.get((r.module, r.name), "")) for r in references]


def _walk(node: Any, owner: str, where: dict[tuple[str, str], str]) -> None:
    """Where each ``__module__``/``__class__`` of a skops schema is first used: the attribute holding it."""
    if isinstance(node, list):
        for item in node:
            _walk(item, owner, where)
        return
    if not isinstance(node, dict):
        return
    module, name = node.get("__module__"), node.get("__class__")
    if "__loader__" in node and isinstance(module, str) and isinstance(name, str):
        where.setdefault((module, name), owner)
    state = node.get("content")
    state = state.get("content") if node.get("__loader__") == "ObjectNode" and isinstance(state, dict) else None
    if isinstance(state, dict):
        for attribute, value in state.items():  # the object's attributes: name → node
            _walk(value, f"{name}.{attribute}", where)
        return
    for value in node.values():
        _walk(value, owner, where)
