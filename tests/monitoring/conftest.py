"""A served model with its training data registered, and a way to write its prediction log at chosen times."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import shipyard as sy
from shipyard.serving.predlog import PredictionLog, PredictionRecord

FEATURES = ["tenure", "calls", "spend"]
MINUTE = 60_000
T0 = 28_333_334 * MINUTE  # a minute boundary (2023-11-14 22:14 UTC)

LogRows = Callable[..., list[str]]


def frame(rows: int, *, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(rows, 3)), columns=FEATURES)
    df["tenure"] += shift
    return df


@pytest.fixture
def client(client: sy.Client, monkeypatch: pytest.MonkeyPatch, sqlite_locally: None) -> sy.Client:
    """tests/conftest.py's client (SQLite locally, HTTP in the suites marked ``over_http``), acting as an admin
    where it overrides the gate."""
    monkeypatch.setenv("SHIPYARD_ALLOW_OVERRIDE", "1")
    return client


@pytest.fixture
def churn(client: sy.Client) -> LogisticRegression:
    """``churn`` version 1, trained on a registered dataset, aliased ``live``."""
    df = frame(3_000)
    labels = (df["tenure"] - df["calls"] > 0).astype(int)
    model = LogisticRegression().fit(df, labels)
    train = client.datasets.register("churn-train", df, project="default")
    client.models.log(model, "churn", train_data=train, project="default")
    client.models.set_alias("churn", 1, "live")
    return model


@pytest.fixture
def log_rows(client: sy.Client, churn: LogisticRegression) -> LogRows:
    """``log_rows(minute, rows, shift=0.0)`` logs requests of 50 rows each in that minute after T0; their ids."""

    def write(minute: int, rows: int, *, shift: float = 0.0, seed: int = 1) -> list[str]:
        df = frame(rows, seed=seed + minute, shift=shift)
        predictions = churn.predict(df)
        ids = []
        with PredictionLog(client.backend, "default", "churn") as log:
            for start in range(0, rows, 50):
                part = df.iloc[start : start + 50]
                request_id = f"m{minute}-r{start}"
                inputs = {name: part[name].tolist() for name in FEATURES}
                at = T0 + minute * MINUTE + start
                outputs = predictions[start : start + 50].tolist()
                log.append(PredictionRecord(request_id, at, 1, "champion", inputs, outputs, 1.0))
                ids.append(request_id)
        return ids

    return write


class Hook:
    """A local HTTP server answering POSTs with the statuses given, in order (then 200)."""

    def __init__(self, statuses: list[int | str]) -> None:
        self.statuses = statuses
        self.received: list[Any] = []
        self.release = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                status = hook.statuses.pop(0) if hook.statuses else 200
                if status == "hang":
                    hook.release.wait(10)
                    status = 200
                self.send_response(int(status))
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/ml"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook(request: pytest.FixtureRequest) -> Iterator[Hook]:
    server = Hook(list(request.param))
    yield server
    server.close()
