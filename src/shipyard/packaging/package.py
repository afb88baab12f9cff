"""A model package: the model's files in a folder, plus a ``PackageInfo`` saying how to read them back.

>>> info = save_model(model, Path("pkg"), train_data=train_df)   # flavor detected, signature inferred
>>> info.flavor, info.signature.output
('sklearn', 'integer')
>>> loaded = load_model(Path("pkg"), info)
>>> loaded.predict(request_rows)                                 # validated against the signature first

The folder holds a few flat files (``model.skops``, ``model.ubj``, …); the registry stores them as blobs
and ``PackageInfo.to_dict()`` as metadata. Nothing here knows about the registry or the blob store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import InvalidInput, PermissionDenied, ShipyardError
from shipyard.packaging._environment import check_environment, record_environment
from shipyard.packaging._portability import (
    CodeReference,
    UnloadableModel,
    load_problems,
    not_found_elsewhere,
    refuse,
    unportable,
    unresolved,
)
from shipyard.packaging._tables import data_kind, to_arrow
from shipyard.packaging.flavors import FLAVORS, detect_flavor, get_flavor
from shipyard.packaging.flavors.base import Flavor, Predictor, SaveContext
from shipyard.packaging.signature import (
    ColumnSpec,
    Signature,
    infer_inputs,
    infer_output,
    pandas_fast_path,
    validate_input,
)

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
    from numpy.typing import NDArray

__all__ = ["FORMAT_VERSION", "LoadedModel", "PackageInfo", "load_model", "save_model"]

FORMAT_VERSION = 1
SMOKE_ROWS = 5  # rows of the example / training data predicted on at save time, to learn the output type


@dataclass(frozen=True)
class PackageInfo:
    """How to load a model package: flavor, safety, signature, the saving environment and flavor details."""

    flavor: str
    unsafe_format: bool
    signature: Signature
    environment: dict[str, Any] = field(default_factory=dict)  # {"python": "3.11.7", "libraries": {…}}
    flavor_meta: dict[str, Any] = field(default_factory=dict)  # what the flavor needs to load its files

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``from_dict`` reads it back."""
        return {
            "format_version": FORMAT_VERSION,
            "flavor": self.flavor,
            "unsafe_format": self.unsafe_format,
            "signature": self.signature.to_dict(),
            "environment": self.environment,
            "flavor_meta": self.flavor_meta,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PackageInfo:
        version = data.get("format_version", FORMAT_VERSION)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise InvalidInput(
                f"This model package has format version {version!r}; this Shipyard reads up to {FORMAT_VERSION}. "
                "Upgrade Shipyard to load it."
            )
        try:
            return cls(
                flavor=str(data["flavor"]),
                unsafe_format=bool(data["unsafe_format"]),
                signature=Signature.from_dict(data["signature"]),
                environment=dict(data.get("environment") or {}),
                flavor_meta=dict(data.get("flavor_meta") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ShipyardError):
                raise
            raise InvalidInput(f"Not a valid model package description: {exc!r}.") from exc


class LoadedModel:
    """A loaded model package; ``predict`` validates its input against the signature before the model sees it."""

    def __init__(self, info: PackageInfo, predictor: Predictor) -> None:
        self.info = info
        self._predictor = predictor

    @property
    def flavor(self) -> str:
        return self.info.flavor

    @property
    def signature(self) -> Signature:
        return self.info.signature

    @property
    def has_predict_proba(self) -> bool:
        return self._predictor.has_predict_proba

    def predict(self, data: object) -> NDArray[Any]:
        """Predictions for ``data`` (pandas, polars, Arrow, dict of lists or list of row dicts), one per row."""
        return self._call(self._predictor.predict, data)

    def predict_proba(self, data: object) -> NDArray[Any]:
        """Class probabilities, one row per input row; ``InvalidInput`` if the model gives none."""
        if not self.has_predict_proba:
            raise InvalidInput(
                f"This {self.flavor} model has no predict_proba (it is not a probabilistic classifier, or its "
                "format does not expose probabilities); use predict."
            )
        return self._call(self._predictor.predict_proba, data)

    def native_matrix(self) -> tuple[Any, list[str] | None] | None:
        """The library's model and its column order when it takes a plain float matrix (see ``Predictor``)."""
        return self._predictor.native_matrix()

    def _call(self, method: Any, data: object) -> NDArray[Any]:
        table = pandas_fast_path(data, self.signature) if self._predictor.accepts_pandas else None
        if table is None:
            table = validate_input(data, self.signature)
            if table.num_rows == 0:
                raise InvalidInput("The input has no rows; send at least one row to predict on.")
        try:
            result: NDArray[Any] = method(table)
        except ValueError as exc:
            if isinstance(exc, ShipyardError):
                raise
            # The data fits the signature but the model refuses its values (e.g. a category unseen in
            # training): the caller's input is at fault, so this is a 400, not a server error.
            raise InvalidInput(f"The {self.flavor} model rejected the input: {exc}") from exc
        return result

    def __repr__(self) -> str:
        columns = ", ".join(self.signature.column_names)
        return f"<LoadedModel flavor={self.flavor} inputs=[{columns}] output={self.signature.output}>"


def _resolve_flavor(model: object, name: str | None) -> Flavor:
    if name is None:
        return detect_flavor(model)
    flavor = get_flavor(name)
    if not flavor.unsafe_format and not flavor.matches(model):
        raise InvalidInput(
            f"flavor={name!r} cannot save a {type(model).__module__}.{type(model).__qualname__}. "
            f"Known flavors: {', '.join(FLAVORS)}; leave flavor unset to detect it."
        )
    return flavor


def _model_columns(flavor: Flavor, model: object, table: pa.Table, source: str) -> pa.Table:
    """The columns of ``table`` the model takes, in the model's order when it records feature names."""
    names = flavor.input_names(model)
    if names is not None:
        missing = [n for n in names if n not in table.column_names]
        if missing:
            raise InvalidInput(
                f"The model was fitted on columns {names}, but {source} lacks {missing}. "
                f"Pass {source} with the columns the model was trained on."
            )
        return table.select(names)
    n = flavor.n_inputs(model)
    if n is not None and n != table.num_columns:
        raise InvalidInput(
            f"The model takes {n} features, but {source} has {table.num_columns} columns "
            f"({', '.join(table.column_names)}), and the model does not record feature names, so Shipyard "
            "cannot tell which columns it takes. Pass input_example= holding exactly the model's input columns, "
            "in training order (e.g. train_df.drop(columns='label').head()), or signature=."
        )
    return table


def _infer_inputs(
    flavor: Flavor, model: object, input_example: object, train_data: object
) -> tuple[pa.Table, tuple[ColumnSpec, ...]]:
    if input_example is not None:
        table = _model_columns(flavor, model, to_arrow(input_example), "input_example")
        inputs = infer_inputs(table)
        if train_data is not None:
            # A short example rarely shows nulls; the training data says better which columns may hold them.
            train = to_arrow(train_data)
            shared = [c for c in table.column_names if c in train.column_names]
            nullable = {s.name for s in infer_inputs(train.select(shared)) if s.nullable}
            inputs = tuple(ColumnSpec(s.name, s.type, s.nullable or s.name in nullable) for s in inputs)
        return table, inputs
    table = _model_columns(flavor, model, to_arrow(train_data), "train_data")
    return table, infer_inputs(table)


def save_model(
    model: object,
    folder: Path,
    *,
    flavor: str | None = None,
    signature: Signature | None = None,
    input_example: object = None,
    train_data: object = None,
) -> PackageInfo:
    """Write ``model``'s files into ``folder`` (created; must be empty) and describe them.

    The flavor is detected from the model's type unless given. The signature's inputs are the columns of
    ``input_example`` if given, else of ``train_data`` (pandas, polars or Arrow), narrowed to the columns
    the model was fitted on when its library records feature names. The output type comes from predicting
    on the first rows, which also proves the model runs on data shaped like its signature.
    """
    chosen = _resolve_flavor(model, flavor)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise InvalidInput(f"save_model writes into an empty folder; {folder} is not empty.")
    sample = input_example if input_example is not None else train_data
    if signature is None and sample is None:
        raise InvalidInput(
            "save_model needs input_example=, train_data= or signature= to know the model's input columns."
        )
    table: pa.Table | None = None
    if signature is None:
        table, inputs = _infer_inputs(chosen, model, input_example, train_data)
        signature = Signature(inputs)
    elif sample is not None:
        table = to_arrow(sample)  # training data holds the label too: keep what the signature names
        table = table.select([c for c in table.column_names if c in set(signature.column_names)])
    try:
        meta = chosen.save(model, folder, SaveContext(signature.inputs, None if sample is None else data_kind(sample)))
        rows = expected = None
        if table is not None:
            rows = validate_input(table.slice(0, SMOKE_ROWS), Signature(signature.inputs))
            expected = _smoke_predict(chosen, model, meta, signature, rows)
            if signature.output is None:
                output, shape = infer_output(expected)
                signature = Signature(signature.inputs, output, shape)
        _check_loads(chosen, folder, meta, rows, expected)
    except BaseException:
        for path in folder.iterdir():  # the folder was empty: everything in it is a partial package of ours
            path.unlink()
        raise
    return PackageInfo(chosen.name, chosen.unsafe_format, signature, record_environment(chosen), meta)


def _smoke_predict(flavor: Flavor, model: object, meta: dict[str, Any], signature: Signature, rows: pa.Table) -> Any:
    """The model's predictions on the first rows of its example data: they give the output type and prove
    that the model runs on data shaped like its signature."""
    try:
        return flavor.wrap(model, meta).predict(rows)
    except ShipyardError:
        raise
    except Exception as exc:
        raise InvalidInput(
            f"The {flavor.name} model failed to predict on the first {rows.num_rows} rows of its example data "
            f"(columns {', '.join(signature.column_names)}): {type(exc).__name__}: {exc}"
        ) from exc


def _check_loads(
    flavor: Flavor, folder: Path, meta: dict[str, Any], rows: pa.Table | None, expected: NDArray[Any] | None
) -> None:
    """Load the package just written, as a server would, and predict the example rows again.

    A package that another process could not load, or that predicts otherwise once loaded, is refused now
    rather than registered and found broken at serving time. The load is from the written files, in this
    process; what the files name is checked first without importing it, and the user's own modules last
    in a fresh interpreter (see ``_portability``).
    """
    references = flavor.references(folder, meta)
    problems = unportable(references)
    if problems:
        raise _refusal(flavor, folder, meta, problems)
    try:
        loaded = flavor.load(folder, meta, trust_unsafe=flavor.unsafe_format)  # just written from the caller's model
    except ShipyardError:
        raise
    except Exception as exc:
        problems = unresolved(references) if isinstance(exc, AttributeError | ImportError) else []
        if problems:
            raise _refusal(flavor, folder, meta, problems) from exc
        raise UnloadableModel(
            f"This {flavor.name} model could be saved but its files cannot be loaded back: "
            f"{type(exc).__name__}: {exc}. Save it with flavor='python_function' (cloudpickle) instead."
        ) from exc
    problems = not_found_elsewhere(references)
    if problems:
        raise _refusal(flavor, folder, meta, problems)
    if rows is None or expected is None:
        return
    try:
        again = flavor.wrap(loaded, meta).predict(rows)
    except ShipyardError:
        raise
    except Exception as exc:
        raise UnloadableModel(
            f"This {flavor.name} model, once saved and loaded back, fails to predict on the first {rows.num_rows} "
            f"rows of its example data: {type(exc).__name__}: {exc}. Save it with flavor='python_function' instead."
        ) from exc
    if not _same_predictions(expected, again):
        raise UnloadableModel(
            f"This {flavor.name} model predicts otherwise once saved and loaded back: {_head(expected)} before, "
            f"{_head(again)} after, on the first {rows.num_rows} rows of its example data. The {flavor.name} "
            "format does not hold everything the model uses (e.g. a subclass that overrides predict); save it "
            "with flavor='python_function' instead."
        )


def _refusal(
    flavor: Flavor,
    folder: Path,
    meta: Mapping[str, Any],
    problems: list[tuple[CodeReference, str]],
    *,
    loading: BaseException | None = None,
) -> UnloadableModel:
    """``refuse``, naming where in the model each problem is used (worth reading the files for, only now)."""
    located = {(r.module, r.name): r for r in flavor.references(folder, meta, located=True)}
    return refuse(flavor.name, [(located.get((r.module, r.name), r), why) for r, why in problems], loading=loading)


def _same_predictions(before: NDArray[Any], after: NDArray[Any]) -> bool:
    import numpy as np

    if before.shape != after.shape:
        return False
    if before.dtype.kind in "fc" and after.dtype.kind in "fc":
        # Equal up to rounding: a loaded copy may lay out its arrays differently, and BLAS sums in another order.
        return bool(np.allclose(before, after, rtol=1e-9, atol=1e-12, equal_nan=True))
    return bool(np.array_equal(before, after))


def _head(values: NDArray[Any]) -> str:
    return repr(values[:3].tolist()) + (" …" if len(values) > 3 else "")


def load_model(
    folder: Path, info: PackageInfo, *, trust_unsafe: bool = False, separate_process: bool = False
) -> LoadedModel:
    """Load the package that ``save_model`` wrote into ``folder`` and described in ``info``.

    Pickle-based packages (``unsafe_format``) are refused with ``PermissionDenied`` unless
    ``trust_unsafe=True``. A library release other than the recorded one raises a
    ``VersionMismatchWarning``. The model is read into memory: the folder may be deleted afterwards.

    ``separate_process=True`` is for long-lived processes: a flavor whose loader imports much the model
    never uses (scikit-learn's, through skops) then loads in a short-lived child process, which hands the
    model back pickled (``flavors._child``), so this process never holds the loader. It takes a second
    longer or two (another interpreter starts); the model, the checks and the errors are the same.
    """
    flavor = get_flavor(info.flavor)
    # The flavor's own safety counts too: metadata claiming a pickle is safe must not make it so.
    if (info.unsafe_format or flavor.unsafe_format) and not trust_unsafe:
        raise PermissionDenied(
            f"This model package is in a pickle-based format ({info.flavor}); unpickling runs arbitrary code from "
            "the file. Load it with trust_unsafe=True only if you trust where it came from, or re-save the model "
            "in a safe flavor (sklearn via skops, xgboost, lightgbm, onnx)."
        )
    child = None
    if separate_process and flavor.loader_outweighs_model:
        from shipyard.packaging.flavors._child import ChildLoad

        child = ChildLoad(flavor.name, Path(folder), info.flavor_meta, trust_unsafe=trust_unsafe)  # runs meanwhile
    try:
        flavor.import_libraries()
        check_environment(flavor, info.environment)
    except BaseException:
        if child is not None:
            child.cancel()
        raise
    try:
        loaded, model = (False, None) if child is None else child.result()
        if not loaded:  # loaded here, also when the child failed: its error is raised as this process sees it
            model = flavor.load(Path(folder), info.flavor_meta, trust_unsafe=trust_unsafe)
    except (AttributeError, ImportError) as exc:  # the package names code this process cannot import
        if isinstance(exc, ShipyardError):
            raise
        problems = load_problems(flavor.references(Path(folder), info.flavor_meta))
        raise _refusal(flavor, Path(folder), info.flavor_meta, problems, loading=exc) from exc
    return LoadedModel(info, flavor.wrap(model, info.flavor_meta))
