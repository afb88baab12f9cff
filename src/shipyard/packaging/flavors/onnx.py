"""ONNX graphs (an ``onnx.ModelProto`` or a path to a ``.onnx`` file), run with onnxruntime on the CPU.

How signature columns reach the graph is decided once, at save time, and recorded in ``flavor_meta``:

- ``columns``: the graph has one input per signature column, with the same names (shape ``[N]`` or
  ``[N, 1]``); each column is fed to its input, cast to the input's element type.
- ``matrix``: the graph has one rank-2 input ``[N, k]``; the columns are stacked in signature order into
  one matrix of the input's element type (the usual shape of converted scikit-learn models).

Outputs: an output whose name contains "prob" (e.g. skl2onnx's ``probabilities``) serves
``predict_proba``, as a ``[N, k]`` tensor or as a ZipMap's list of ``{label: p}`` rows; the first other
output serves ``predict``, with ``[N, 1]`` flattened to ``[N]``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.core.errors import CorruptArtifact, InvalidInput
from shipyard.packaging._tables import is_numeric, require, to_matrix
from shipyard.packaging.flavors.base import Flavor, Predictor, SaveContext, model_file

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
    from numpy.typing import NDArray

FILE = "model.onnx"
# onnxruntime's type strings → the numpy dtype to feed.
_DTYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.object_,
}


def _onnx() -> Any:
    return require("onnx", package="onnx", extra="onnx", purpose="The onnx flavor")


def _proto(model: object) -> Any:
    onnx = _onnx()
    if isinstance(model, str | os.PathLike):
        try:
            return onnx.load(os.fspath(model))
        except Exception as exc:  # OSError, or protobuf's DecodeError for bytes that are not a model
            raise InvalidInput(f"Cannot read the ONNX file {os.fspath(model)!r}: {exc}") from exc
    return model


def _graph_inputs(proto: Any) -> list[tuple[str, int, list[int]]]:
    """``(name, element type, dims)`` of each real input (older exporters also list initializers as inputs)."""
    initializers = {i.name for i in proto.graph.initializer}
    out = []
    for value in proto.graph.input:
        if value.name in initializers:
            continue
        dims = [d.dim_value for d in value.type.tensor_type.shape.dim]  # 0 = symbolic (e.g. the batch size)
        out.append((value.name, value.type.tensor_type.elem_type, dims))
    return out


def _is_matrix(inputs: list[tuple[str, int, list[int]]]) -> bool:
    return len(inputs) == 1 and len(inputs[0][2]) == 2 and inputs[0][2][1] != 1


class OnnxPredictor(Predictor):
    def __init__(self, session: Any, meta: Mapping[str, Any]) -> None:
        self._session = session
        self._inputs = {i.name: i.type for i in session.get_inputs()}
        self._ranks = {i.name: len(i.shape) for i in session.get_inputs()}
        self._mode = str(meta["input_mode"])
        self._label = str(meta["label_output"])
        proba = meta.get("proba_output")
        self._proba = None if proba is None else str(proba)

    def _feeds(self, table: pa.Table) -> dict[str, Any]:
        if self._mode == "matrix":
            ((name, type_),) = self._inputs.items()
            return {name: to_matrix(table, np.float64, library="ONNX").astype(_DTYPES[type_])}
        feeds = {}
        for name, column in zip(table.column_names, table.columns, strict=True):
            dtype = _DTYPES[self._inputs[name]]
            if dtype in (np.float32, np.float64) and is_numeric(column.type):
                array = to_matrix(table.select([name]), dtype, library="ONNX")[:, 0]  # nulls become NaN
            elif column.null_count:
                raise InvalidInput(f"Column '{name}' has nulls, which the ONNX input '{name}' ({dtype}) cannot hold.")
            else:
                array = column.to_numpy(zero_copy_only=False).astype(dtype)
            feeds[name] = array.reshape(-1, 1) if self._ranks[name] == 2 else array
        return feeds

    def predict(self, table: pa.Table) -> NDArray[Any]:
        out = np.asarray(self._session.run([self._label], self._feeds(table))[0])
        return out.ravel() if out.ndim == 2 and out.shape[1] == 1 else out

    @property
    def has_predict_proba(self) -> bool:
        return self._proba is not None

    def predict_proba(self, table: pa.Table) -> NDArray[Any]:
        out = self._session.run([self._proba], self._feeds(table))[0]
        if isinstance(out, list):  # a ZipMap: one {class label: probability} dict per row, in class order
            keys = list(out[0]) if out else []
            return np.array([[row[k] for k in keys] for row in out], dtype=np.float64).reshape(len(out), len(keys))
        return np.asarray(out)


class OnnxFlavor(Flavor):
    name = "onnx"
    extra = "onnx"
    libraries = {"onnx": ("onnx", 1), "onnxruntime": ("onnxruntime", 1), "numpy": ("numpy", 1)}

    @classmethod
    def matches(cls, model: object) -> bool:
        if isinstance(model, str | os.PathLike):
            return os.fspath(model).endswith(".onnx")
        return type(model).__module__.startswith("onnx.") and type(model).__name__ == "ModelProto"

    def input_names(self, model: object) -> list[str] | None:
        inputs = _graph_inputs(_proto(model))
        return None if _is_matrix(inputs) else [name for name, _, _ in inputs]

    def n_inputs(self, model: object) -> int | None:
        inputs = _graph_inputs(_proto(model))
        if _is_matrix(inputs):
            width = inputs[0][2][1]
            return width or None
        return len(inputs)

    def save(self, model: object, folder: Path, context: SaveContext) -> dict[str, Any]:
        onnx = _onnx()
        proto = _proto(model)
        try:
            onnx.checker.check_model(proto)
        except onnx.checker.ValidationError as exc:
            raise InvalidInput(f"The ONNX model is not valid: {exc}") from exc
        inputs = _graph_inputs(proto)
        columns = [c.name for c in context.inputs]
        if sorted(name for name, _, _ in inputs) == sorted(columns):
            mode = "columns"
        elif _is_matrix(inputs) and inputs[0][2][1] in (0, len(columns)):
            mode = "matrix"
        else:
            shapes = ", ".join(f"{name} {dims}" for name, _, dims in inputs)
            raise InvalidInput(
                f"Cannot map the signature's {len(columns)} columns ({', '.join(columns)}) to the ONNX graph's "
                f"inputs ({shapes}). The graph needs either one input per column with the same names, or one "
                f"[N, {len(columns)}] input that takes the columns stacked in signature order."
            )
        outputs = [o.name for o in proto.graph.output]
        proba = next((name for name in outputs if "prob" in name.lower()), None) if len(outputs) > 1 else None
        label = next(name for name in outputs if name != proba)
        onnx.save_model(proto, str(folder / FILE))
        return {"file": FILE, "input_mode": mode, "label_output": label, "proba_output": proba}

    def load(self, folder: Path, meta: Mapping[str, Any], *, trust_unsafe: bool) -> object:
        return self._session(model_file(folder, meta, FILE))

    def _session(self, source: Path | bytes) -> Any:
        ort = require("onnxruntime", package="onnxruntime", extra="onnx", purpose="The onnx flavor")
        try:
            return ort.InferenceSession(
                source if isinstance(source, bytes) else str(source), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own unexported exception types
            raise CorruptArtifact(f"onnxruntime cannot load the ONNX model: {exc}") from exc

    def wrap(self, model: object, meta: Mapping[str, Any]) -> Predictor:
        if type(model).__name__ != "InferenceSession":  # the model given to save: a ModelProto or a path
            model = self._session(_proto(model).SerializeToString())
        return OnnxPredictor(model, meta)
