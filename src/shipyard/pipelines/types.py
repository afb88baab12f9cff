"""What flows between steps: ``Dataset`` and ``Model`` handles, and the checks on annotated types.

A step annotated ``-> sy.Dataset`` returns any table (pandas, polars, Arrow, a ``DatasetVersion``); the
next step receives a ``Dataset`` handle that loads the stored version on first use. A step annotated
``-> sy.Model`` returns a fitted model of a known flavor; the next step receives a ``Model`` handle.
A parameter annotated ``pa.Table`` or a pandas/polars ``DataFrame`` receives that type directly.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shipyard.core.entities import DatasetVersion

if TYPE_CHECKING:
    import pyarrow as pa

    from shipyard.packaging.package import LoadedModel


class Dataset:
    """A table that one step produced and another reads: a dataset version, loaded when first used.

    >>> features.to_pandas().head()
    >>> features.version.ref            # "training.featurize@3"
    """

    def __init__(self, version: DatasetVersion, load: Callable[[], pa.Table]) -> None:
        self.version = version
        self._load = load
        self._table: pa.Table | None = None

    @property
    def digest(self) -> str:
        return self.version.digest

    @property
    def num_rows(self) -> int:
        return self.version.rows

    def to_arrow(self) -> pa.Table:
        if self._table is None:
            self._table = self._load()
        return self._table

    def to_pandas(self) -> Any:
        return self.to_arrow().to_pandas()

    def to_polars(self) -> Any:
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return self.to_arrow().__arrow_c_stream__(requested_schema)

    def __repr__(self) -> str:
        return f"<shipyard.Dataset {self.version.ref} rows={self.version.rows}>"


class Model:
    """A model that one step produced and another uses: a package in the artifact store, loaded when first used.

    ``ref`` is ``"churn@5"`` when the step registered it (``@sy.step(register="churn")``), else None.
    """

    def __init__(self, digest: str, ref: str | None, load: Callable[[], LoadedModel]) -> None:
        self.digest = digest
        self.ref = ref
        self._load = load
        self._loaded: LoadedModel | None = None

    @property
    def loaded(self) -> LoadedModel:
        if self._loaded is None:
            self._loaded = self._load()
        return self._loaded

    def predict(self, data: object) -> Any:
        return self.loaded.predict(data)

    def predict_proba(self, data: object) -> Any:
        return self.loaded.predict_proba(data)

    def __repr__(self) -> str:
        return f"<shipyard.Model {self.ref or self.digest[:19]}>"


# annotations ------------------------------------------------------------------------------------------

# (top-level package, class name): where a library moves its classes between releases does not matter.
TABLE_TYPES = {("pyarrow", "Table"), ("pandas", "DataFrame"), ("polars", "DataFrame")}


def type_name(annotation: Any) -> str:
    if annotation is Dataset:
        return "sy.Dataset"
    if annotation is Model:
        return "sy.Model"
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__qualname__
    return str(annotation).replace("typing.", "")


def is_unconstrained(annotation: Any) -> bool:
    return annotation is None or annotation is Any or annotation is typing.Any or isinstance(annotation, str)


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def table_kind(cls: type) -> tuple[str, str]:
    return cls.__module__.partition(".")[0], cls.__qualname__


def is_table_type(annotation: Any) -> bool:
    return annotation is Dataset or (isinstance(annotation, type) and table_kind(annotation) in TABLE_TYPES)


def is_table(value: object) -> bool:
    """A value a ``Dataset`` output may hold: a table of a known library, a dataset version or handle."""
    if isinstance(value, Dataset | DatasetVersion):
        return True
    return any(table_kind(cls) in TABLE_TYPES | {("pyarrow", "RecordBatch")} for cls in type(value).__mro__)


def _origin(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is types.UnionType or origin is typing.Union:
        return typing.Union
    return origin or annotation


def compatible(produced: Any, wanted: Any) -> bool:
    """Whether an output annotated ``produced`` may feed a parameter annotated ``wanted``."""
    if is_unconstrained(produced) or is_unconstrained(wanted):
        return True
    if _origin(wanted) is typing.Union:
        return any(compatible(produced, option) for option in typing.get_args(wanted))
    if _origin(produced) is typing.Union:
        return all(compatible(option, wanted) for option in typing.get_args(produced))
    if is_table_type(produced) and is_table_type(wanted):
        return True
    if produced is Model or wanted is Model:
        return produced is wanted
    produced_cls, wanted_cls = _origin(produced), _origin(wanted)
    if not isinstance(produced_cls, type) or not isinstance(wanted_cls, type):
        return True  # a typing construct we do not judge (a TypeVar, Literal, …)
    if produced_cls is int and wanted_cls is float:
        return True
    return issubclass(produced_cls, wanted_cls)


def value_matches(value: object, annotation: Any) -> bool:
    """Whether a step's return value is allowed by its annotation (containers are checked one level deep)."""
    if is_unconstrained(annotation):
        return True
    if annotation is type(None):
        return value is None
    if annotation is Dataset or is_table_type(annotation):
        return is_table(value)
    if annotation is Model:
        return value is not None and not is_table(value) and not isinstance(value, str | int | float | dict | list)
    origin = _origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union:
        return any(value_matches(value, option) for option in args)
    if not isinstance(origin, type):
        return True
    if origin is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if origin is int and isinstance(value, bool):
        return False
    if not isinstance(value, origin):
        return False
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return all(value_matches(k, args[0]) and value_matches(v, args[1]) for k, v in value.items())
    if origin is list and len(args) == 1 and isinstance(value, list):
        return all(value_matches(item, args[0]) for item in value)
    return True


def describe_value(value: object) -> str:
    cls = type(value)
    return cls.__qualname__ if cls.__module__ == "builtins" else _qualname(cls)
