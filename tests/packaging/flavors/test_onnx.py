"""The onnx flavor: signature columns mapped to graph inputs, label and probability outputs."""

from __future__ import annotations

from pathlib import Path

import onnx
import pandas as pd
import pytest

from shipyard.core.errors import InvalidInput
from shipyard.packaging import infer_signature, load_model, save_model

from ..conftest import linear_onnx


def test_a_path_to_an_onnx_file_is_saved_like_a_model_proto(train: pd.DataFrame, tmp_path: Path) -> None:
    source = tmp_path / "linear.onnx"
    onnx.save_model(linear_onnx(), str(source))
    info = save_model(source, tmp_path / "pkg", input_example=train[["a", "b"]])
    assert (info.flavor, info.flavor_meta["input_mode"]) == ("onnx", "matrix")
    assert (info.signature.output, info.flavor_meta["proba_output"]) == ("integer", "probabilities")
    assert load_model(tmp_path / "pkg", info).predict_proba(train[["a", "b"]]).shape == (120, 2)


def test_inputs_named_like_the_columns_are_fed_one_column_each(train: pd.DataFrame, tmp_path: Path) -> None:
    info = save_model(linear_onnx(per_column=True), tmp_path, input_example=train[["b", "a"]])
    assert info.flavor_meta["input_mode"] == "columns"


def test_columns_that_fit_no_graph_input_are_refused_at_save(train: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"Cannot map the signature's 3 columns \(a, b, n\).*\[N, 3\]"):
        save_model(linear_onnx(), tmp_path, signature=infer_signature(train[["a", "b", "n"]]))


def test_an_invalid_graph_is_refused_at_save(train: pd.DataFrame, tmp_path: Path) -> None:
    broken = linear_onnx()
    del broken.graph.initializer[:]  # the weights are gone
    with pytest.raises(InvalidInput, match="not valid"):
        save_model(broken, tmp_path, input_example=train[["a", "b"]])
