"""Tiny models of every flavor, trained on small synthetic data, and the data to check them with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest

FEATURES = ["a", "b", "n"]


@pytest.fixture(scope="session")
def train() -> pd.DataFrame:
    """120 rows: floats a, b, an integer n, a string city and a 0/1 label that depends on a and b."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=120),
            "b": rng.normal(size=120),
            "n": rng.integers(0, 10, size=120),
            "city": rng.choice(["oslo", "lima", "pune"], size=120),
        }
    )
    return frame.assign(label=((frame.a - frame.b + 0.1 * frame.n) > 0.4).astype("int64"))


class MeanModel:
    """A plain Python model: the python_function flavor's test subject."""

    def __init__(self, weights: dict[str, float]) -> None:
        self.weights = weights

    def predict(self, frame: pd.DataFrame) -> Any:
        return sum(frame[c].to_numpy() * w for c, w in self.weights.items())


def linear_onnx(*, per_column: bool = False, zipmap: bool = False) -> Any:
    """A logistic model over columns a, b as an ONNX graph: outputs ``label`` and ``probabilities``."""
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.array([[1.5], [-2.0]], dtype=np.float32), "W")
    bias = numpy_helper.from_array(np.array([0.25], dtype=np.float32), "B")
    one = numpy_helper.from_array(np.array([1.0], dtype=np.float32), "one")
    nodes = []
    if per_column:
        inputs = [helper.make_tensor_value_info(c, TensorProto.FLOAT, ["N", 1]) for c in ("a", "b")]
        nodes.append(helper.make_node("Concat", ["a", "b"], ["X"], axis=1))
    else:
        inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 2])]
    nodes += [
        helper.make_node("MatMul", ["X", "W"], ["z0"]),
        helper.make_node("Add", ["z0", "B"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["p1"]),
        helper.make_node("Sub", ["one", "p1"], ["p0"]),
        helper.make_node("Concat", ["p0", "p1"], ["probs"], axis=1),
        helper.make_node("ArgMax", ["probs"], ["label"], axis=1, keepdims=0),
    ]
    outputs = [helper.make_tensor_value_info("label", TensorProto.INT64, ["N"])]
    opsets = [helper.make_opsetid("", 17)]
    if zipmap:  # what skl2onnx emits by default: one {class: probability} map per row
        nodes.append(
            helper.make_node("ZipMap", ["probs"], ["probabilities"], domain="ai.onnx.ml", classlabels_int64s=[0, 1])
        )
        outputs.append(
            helper.make_value_info(
                "probabilities",
                helper.make_sequence_type_proto(
                    helper.make_map_type_proto(TensorProto.INT64, helper.make_tensor_type_proto(TensorProto.FLOAT, []))
                ),
            )
        )
        opsets.append(helper.make_opsetid("ai.onnx.ml", 3))
    else:
        nodes.append(helper.make_node("Identity", ["probs"], ["probabilities"]))
        outputs.append(helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 2]))
    graph = helper.make_graph(nodes, "linear", inputs, outputs, initializer=[weights, bias, one])
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 9  # what the installed onnxruntime reads
    return model


@dataclass
class Case:
    """A model, how to save it, and what it must predict on ``data`` after a round trip."""

    model: Any
    flavor: str
    data: pd.DataFrame  # what predict is called with
    predict: Callable[[], Any]
    proba: Callable[[], Any] | None = None
    save: dict[str, Any] = field(default_factory=dict)  # extra save_model arguments


def _sklearn_pipeline(train: pd.DataFrame) -> Case:
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    x = train.drop(columns="label")
    pre = make_column_transformer((StandardScaler(), FEATURES), (OneHotEncoder(), ["city"]))
    model = make_pipeline(pre, LogisticRegression()).fit(x, train.label)
    return Case(model, "sklearn", x, lambda: model.predict(x), lambda: model.predict_proba(x), {"train_data": train})


def _sklearn_forest_on_numpy(train: pd.DataFrame) -> Case:
    from sklearn.ensemble import RandomForestRegressor

    x = train[FEATURES]
    model = RandomForestRegressor(n_estimators=5, random_state=0).fit(x.to_numpy(), train.label)
    return Case(model, "sklearn", x, lambda: model.predict(x.to_numpy()), None, {"input_example": x.head()})


def _xgb_classifier(train: pd.DataFrame) -> Case:
    import xgboost as xgb

    x = train[FEATURES]
    model = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(x, train.label)
    return Case(model, "xgboost", x, lambda: model.predict(x), lambda: model.predict_proba(x), {"train_data": train})


def _xgb_booster(train: pd.DataFrame) -> Case:
    import xgboost as xgb

    x = train[FEATURES]
    booster = xgb.train({"max_depth": 2}, xgb.DMatrix(x, label=train.label), num_boost_round=5)
    return Case(booster, "xgboost", x, lambda: booster.predict(xgb.DMatrix(x)), None, {"train_data": train})


def _lgbm_classifier(train: pd.DataFrame) -> Case:
    import lightgbm as lgb

    x = train[FEATURES]
    labels = train.label.map({0: "no", 1: "yes"})  # string classes: predict must give the labels back
    model = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(x, labels)
    return Case(model, "lightgbm", x, lambda: model.predict(x), lambda: model.predict_proba(x), {"train_data": train})


def _lgbm_multiclass_on_numpy(train: pd.DataFrame) -> Case:
    import lightgbm as lgb

    x = train[FEATURES]
    model = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(x.to_numpy(), train.n % 3)
    arr = x.to_numpy()
    return Case(
        model, "lightgbm", x, lambda: model.predict(arr), lambda: model.predict_proba(arr), {"input_example": x}
    )


def _lgbm_booster(train: pd.DataFrame) -> Case:
    import lightgbm as lgb

    x = train[FEATURES]
    booster = lgb.train({"verbose": -1}, lgb.Dataset(x, label=train.a), num_boost_round=5)
    return Case(booster, "lightgbm", x, lambda: booster.predict(x), None, {"train_data": train})


def _onnx(train: pd.DataFrame, *, per_column: bool, zipmap: bool = False) -> Case:
    import onnxruntime as ort

    model = linear_onnx(per_column=per_column, zipmap=zipmap)
    x = train[["a", "b"]]
    xs = x.to_numpy(np.float32)
    feeds = {"a": xs[:, :1], "b": xs[:, 1:]} if per_column else {"X": xs}
    # The expectation comes from the same graph with a plain [N, 2] probabilities tensor (no ZipMap).
    plain = linear_onnx(per_column=per_column).SerializeToString()
    session = ort.InferenceSession(plain, providers=["CPUExecutionProvider"])
    label, proba = session.run(["label", "probabilities"], feeds)
    return Case(model, "onnx", x, lambda: label, lambda: proba, {"input_example": x})


def _python_function(train: pd.DataFrame) -> Case:
    model = MeanModel({"a": 0.5, "n": 2.0})
    x = train[["a", "n"]]
    return Case(
        model, "python_function", x, lambda: model.predict(x), None, {"input_example": x, "flavor": "python_function"}
    )


CASES: dict[str, Callable[[pd.DataFrame], Case]] = {
    "sklearn-pipeline": _sklearn_pipeline,
    "sklearn-forest-numpy": _sklearn_forest_on_numpy,
    "xgboost-classifier": _xgb_classifier,
    "xgboost-booster": _xgb_booster,
    "lightgbm-classifier": _lgbm_classifier,
    "lightgbm-multiclass-numpy": _lgbm_multiclass_on_numpy,
    "lightgbm-booster": _lgbm_booster,
    "onnx-matrix": lambda t: _onnx(t, per_column=False),
    "onnx-columns": lambda t: _onnx(t, per_column=True),
    "onnx-zipmap": lambda t: _onnx(t, per_column=False, zipmap=True),
    "python-function": _python_function,
}


@pytest.fixture(params=list(CASES))
def case(request: pytest.FixtureRequest, train: pd.DataFrame) -> Case:
    return CASES[request.param](train)
