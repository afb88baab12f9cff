"""The seam every flavor implements: detect a model, save it to a folder, load it back, predict on Arrow.

A flavor module must not import its model library at module level: detection runs over every flavor
for every ``save_model`` call and must stay free. Libraries are imported inside methods via ``require``,
which turns a missing one into ``MissingDependency`` naming the ``pip install`` line.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from shipyard.core.errors import CorruptArtifact, InvalidInput, NotFound
from shipyard.packaging._tables import require

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
    from numpy.typing import NDArray

    from shipyard.packaging._portability import CodeReference
    from shipyard.packaging.signature import ColumnSpec


@dataclass(frozen=True)
class SaveContext:
    """What ``save_model`` knows besides the model: the signature's inputs and where the data came from."""

    inputs: tuple[ColumnSpec, ...]
    data_kind: str | None  # "pandas" | "polars" | "arrow" | "python", or None when no data was given


class Predictor(ABC):
    """A model ready to predict on tables already validated against its signature.

    A predictor that sets ``accepts_pandas`` may also be handed a pandas DataFrame that already holds
    exactly the signature's columns with matching dtypes (see ``signature.pandas_fast_path``), sparing
    the round trip through Arrow for the commonest input.
    """

    accepts_pandas: ClassVar[bool] = False

    @abstractmethod
    def predict(self, table: pa.Table) -> NDArray[Any]: ...

    @property
    def has_predict_proba(self) -> bool:
        return False

    def predict_proba(self, table: pa.Table) -> NDArray[Any]:
        """Class probabilities; a predictor whose model has none keeps this refusal (and has_predict_proba False)."""
        raise InvalidInput("This model gives no class probabilities (it has no predict_proba); use predict.")

    def native_matrix(self) -> tuple[Any, list[str] | None] | None:
        """The library's own model, if it also takes a plain float matrix, with the column order it wants
        (None: the signature's order). Serving uses it to skip building a DataFrame per batch; it checks
        once that the model answers a matrix as it answers a table before relying on it."""
        return None


class Flavor(ABC):
    """One model library's way of saving, loading and predicting."""

    name: ClassVar[str]
    extra: ClassVar[str]  # the pip extra: pip install 'shipyard[<extra>]'
    unsafe_format: ClassVar[bool] = False
    # Libraries recorded in the package's environment and checked on load:
    # label → (module, how many leading version components must match, e.g. 1 = major).
    libraries: ClassVar[Mapping[str, tuple[str, int]]] = {}
    loader_outweighs_model: ClassVar[bool] = False
    """``load`` imports much the loaded model never uses; a long-lived process (a server) had better load in a
    child process and receive the model pickled (``load_model(..., separate_process=True)``)."""

    @classmethod
    @abstractmethod
    def matches(cls, model: object) -> bool:
        """Whether ``model`` is this flavor's, judged from its type alone (no library import)."""

    def input_names(self, model: object) -> list[str] | None:
        """The feature names the model was fitted with, in order, if the library records them."""
        return None

    def n_inputs(self, model: object) -> int | None:
        """How many features the model takes, if the library says."""
        return None

    @abstractmethod
    def save(self, model: object, folder: Path, context: SaveContext) -> dict[str, Any]:
        """Write the model's files into ``folder``; return the ``flavor_meta`` that ``load`` needs."""

    @abstractmethod
    def load(self, folder: Path, meta: Mapping[str, Any], *, trust_unsafe: bool) -> object:
        """Read back the model object that ``save`` wrote."""

    @abstractmethod
    def wrap(self, model: object, meta: Mapping[str, Any]) -> Predictor:
        """A predictor over a model object: the one given to ``save``, or the one ``load`` returned."""

    def references(self, folder: Path, meta: Mapping[str, Any], *, located: bool = False) -> list[CodeReference]:
        """The functions and classes outside the model library that the saved files name and ``load`` imports
        by name (none by default: a native format holds no Python objects), without importing anything. With
        ``located``, each says where in the model it is used, which may cost reading the files."""
        return []

    def import_libraries(self) -> None:
        """Import every library this flavor needs, or raise ``MissingDependency``."""
        for label, (module, _) in self.libraries.items():
            if label != "python":
                require(module, package=label, extra=self.extra, purpose=f"The {self.name} flavor")


def model_file(folder: Path, meta: Mapping[str, Any], default: str) -> Path:
    """The path of the package's model file, which must exist and stay inside ``folder``."""
    name = str(meta.get("file", default))
    path = folder / name
    if Path(name).name != name:  # flavor_meta comes from the store; never let it point outside the package
        raise CorruptArtifact(f"The model file name {name!r} in flavor_meta is not a plain file name.")
    if not path.is_file():
        raise NotFound(f"The model package in {folder} has no file {name!r}; was it saved with save_model there?")
    return path


def mro_modules(model: object) -> list[str]:
    """The modules of the model's class and its bases, for detection by library."""
    return [cls.__module__ for cls in type(model).__mro__]
