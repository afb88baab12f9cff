"""`shipyard serve` as a real process: readiness, a hot swap through the alias poller, SIGTERM, the log."""

from __future__ import annotations

import importlib.util
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cloudpickle
import httpx2 as httpx
import pandas as pd
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.serving.predictions import read_predictions
from tests.serving.conftest import row

SLOW_MODEL = """
import os, time

class Slow:
    '''Doubles tenure, slowly, and says when it starts (so a test knows a request is in flight).'''

    def __init__(self, marker):
        self.marker = marker

    def predict(self, frame):
        open(self.marker, "w").close()
        time.sleep(1.0)
        return list(frame["tenure"] * 2)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait for a condition another process brings about, checking it rather than guessing a delay."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def _serve(client: shipyard.Client, ref: str, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    command = [sys.executable, "-m", "shipyard.cli", "--uri", client.settings.uri, "serve", ref, "--port", str(port)]
    errors = Path(client.settings.uri).parent / f"serve-{port}.log"
    with errors.open("wb") as stderr:
        server = subprocess.Popen([*command, *extra], stderr=stderr)
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert server.poll() is None, errors.read_text()
        try:
            return httpx.get(f"{base}/ready").status_code == 200
        except httpx.TransportError:
            return False

    _until(ready)
    return server, base


def test_a_promotion_reaches_the_running_server(client: shipyard.Client, models: list[LogisticRegression]) -> None:
    server, base = _serve(client, "churn@challenger", "--poll", "0.1", "--no-log")
    try:
        assert httpx.post(f"{base}/predict", json={"rows": [row()]}).json()["version"] == 1
        client.models.set_alias("churn", 2, "challenger")
        _until(lambda: httpx.post(f"{base}/predict", json={"rows": [row()]}).json()["version"] == 2)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_sigterm_finishes_requests_in_flight_and_flushes_the_log(client: shipyard.Client, tmp_path: Path) -> None:
    (tmp_path / "slow_model.py").write_text(textwrap.dedent(SLOW_MODEL))
    spec = importlib.util.spec_from_file_location("slow_model", tmp_path / "slow_model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["slow_model"] = module
    spec.loader.exec_module(module)
    cloudpickle.register_pickle_by_value(module)  # the server process cannot import it: its code travels along
    marker = tmp_path / "predicting"
    model = module.Slow(str(marker))
    client.models.log(model, "slow", flavor="python_function", input_example=pd.DataFrame([row()]))
    marker.unlink()  # logging the model predicted once, to learn its output type
    server, base = _serve(client, "slow@1", "--trust-unsafe")
    answers: list[httpx.Response] = []
    thread = threading.Thread(
        target=lambda: answers.append(httpx.post(f"{base}/predict", json={"rows": [row(4.0)]}, timeout=30))
    )
    thread.start()
    _until(marker.exists)
    server.send_signal(signal.SIGTERM)
    thread.join(timeout=30)
    # uvicorn re-raises the signal once it has shut down gracefully, so the exit status says SIGTERM.
    assert server.wait(timeout=30) in (0, -signal.SIGTERM)
    assert answers[0].status_code == 200 and answers[0].json()["predictions"] == [8.0]
    logged = read_predictions(client.backend, "default", "slow")
    assert logged.column("request_id").to_pylist() == [answers[0].json()["request_id"]]
