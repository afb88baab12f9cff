"""BentoML's side of ``bench/serving.py``: the benchmark's model as a BentoML service, two variants.

    cd bench && SERVING_BENCH_MODEL=model.pkl <bentoml venv>/bin/bentoml serve _serving_bentoml:Plain --port P
    cd bench && SERVING_BENCH_MODEL=model.pkl <bentoml venv>/bin/bentoml serve _serving_bentoml:Batched --port P

Run by ``bentoml serve`` in ``bench/.venv-bentoml`` (no Shipyard there). Both services load the pickled
scikit-learn model the other servers serve, run one worker, and answer ``POST /predict`` with
``{"rows": [{"f0": ..., ..., "f19": ...}]}`` (the body Shipyard gets) by a list of class labels.

The input is declared the way BentoML's documentation does it: a pydantic model with one ``float`` field
per column. That is all the validation BentoML does, with pydantic's defaults: a missing field is a 400,
but ``"0.5"`` and ``true`` are taken for floats and unknown fields are ignored (``bench/serving.py`` sends
such bodies to every server and records the answers).

``Plain``: one model call per request. ``Batched``: adaptive batching on (``batchable=True``): BentoML
gathers concurrent requests into one call, up to 256 rows (as Shipyard's ``--max-batch-rows``), its
dispatcher deciding how long to wait. The access log is off in both, as it is in Shipyard's server and
the floors (every side is given its best settings).
"""

import os
import pickle
import warnings

import bentoml
import numpy as np
from pydantic import create_model

COLUMNS = [f"f{i}" for i in range(20)]
Row = create_model("Row", **{column: (float, ...) for column in COLUMNS})  # type: ignore[call-overload]
SERVICE_CONFIG = {"workers": 1, "logging": {"access": {"enabled": False}}}


def load_model():
    with open(os.environ["SERVING_BENCH_MODEL"], "rb") as file:
        model = pickle.load(file)
    # fitted on a DataFrame; a plain array in the fitted column order makes scikit-learn warn on every call
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    return model


def predict_rows(model, rows) -> list[int]:
    x = np.array([[getattr(row, column) for column in COLUMNS] for row in rows], dtype=np.float64)
    return model.predict(x).tolist()


@bentoml.service(**SERVICE_CONFIG)
class Plain:
    def __init__(self) -> None:
        self.model = load_model()

    @bentoml.api
    def predict(self, rows: list[Row]) -> list[int]:  # type: ignore[valid-type]
        return predict_rows(self.model, rows)


@bentoml.service(**SERVICE_CONFIG)
class Batched:
    def __init__(self) -> None:
        self.model = load_model()

    @bentoml.api(batchable=True, max_batch_size=256, max_latency_ms=10_000)
    def predict(self, rows: list[Row]) -> list[int]:  # type: ignore[valid-type]
        return predict_rows(self.model, rows)
