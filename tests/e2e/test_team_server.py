"""The team server end to end: real ``shipyard server`` processes on PostgreSQL (artifacts in a folder, or
on the S3 test server), driven by the same Python code and CLI as embedded, with only SHIPYARD_URI and
SHIPYARD_TOKEN changed.

Every process writes its output to a file (a pipe nobody reads would block a chatty server).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.core.entities import ModelVersion
from shipyard.core.errors import GateBlocked, StoreError
from tests._s3 import S3Bucket
from tests._server import free_port

ROWS = pd.DataFrame({"a": [0.0, 1.0, 0.2, 0.9, 0.4, 0.7], "b": [1.0, 0.0, 0.9, 0.1, 0.5, 0.2]})
LABELS = [0, 1, 0, 1, 0, 1]
STARTUP = 120.0  # seconds: a cold process imports the stack on a shared 2-core machine


@dataclass
class Server:
    url: str
    token: str | None
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text() + self.stderr.read_text()


def environ(url: str | None = None, token: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["PYTHONUNBUFFERED"] = "1"
    if url is not None:
        env["SHIPYARD_URI"] = url
    if token is not None:
        env["SHIPYARD_TOKEN"] = token
    return env


def wait_until(what: str, check: Callable[[], bool], timeout: float = STARTUP) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout:.0f}s")
        pause.wait(0.05)


def answers(url: str, path: str) -> bool:
    try:
        return httpx.get(f"{url}{path}", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@contextmanager
def server(cwd: Path, *args: str, name: str = "server") -> Iterator[Server]:
    """``shipyard server ARGS`` on a free port, ready; its first admin token if it printed one."""
    port = free_port()
    out, err = cwd / f"{name}.out", cwd / f"{name}.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "shipyard.cli", "server", "--port", str(port), *args],
            cwd=cwd,
            env=environ(),
            stdout=stdout,
            stderr=stderr,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(f"{name} ready", lambda: process.poll() is not None or answers(url, "/ready"))
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}: {err.read_text()}")
        tokens = [line.strip() for line in out.read_text().splitlines() if line.strip().startswith("sy_")]
        yield Server(url, tokens[0] if tokens else None, process, out, err)
    finally:
        stop(process)


@pytest.fixture
def store(postgres_url: str, tmp_path: Path) -> list[str]:
    """The ``shipyard server`` options of one shared store: PostgreSQL and an artifact folder."""
    return ["--db", postgres_url, "--artifacts", str(tmp_path / "artifacts")]


@pytest.fixture
def team(store: list[str], tmp_path: Path) -> Iterator[Server]:
    with server(tmp_path, *store) as running:
        assert running.token is not None
        yield running


def client_of(url: str, token: str | None, cwd: Path) -> shipyard.Client:
    return shipyard.Client(url, token=token, capture_environment=False, cwd=cwd)


def log_churn(client: shipyard.Client) -> ModelVersion:
    with client.start_run(project="churn", name="lr") as run:
        run.log_metric("auc", 0.9)
        return run.log_model(LogisticRegression().fit(ROWS, LABELS), "churn", input_example=ROWS)


def run_python(code: str, url: str, token: str | None, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=environ(url, token),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def shipyard_cli(url: str, token: str | None, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipyard.cli", *args],
        cwd=cwd,
        env=environ(url, token) | {"COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def serve(cwd: Path, team: Server) -> tuple[subprocess.Popen[bytes], str]:
    """``shipyard serve churn@staging`` against ``team``, ready, polling the alias every 0.2 s."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = ["serve", "churn@staging", "-p", "churn", "--port", str(port), "--poll", "0.2"]
    command += ["--log-segment-seconds", "1"]  # the outage test sees the log's write fail within a second
    with (cwd / "serve.err").open("wb") as err:
        serving = subprocess.Popen(
            [sys.executable, "-m", "shipyard.cli", *command],
            cwd=cwd,
            env=environ(team.url, team.token),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    wait_until("serve ready", lambda: serving.poll() is not None or answers(url, "/ready"))
    if serving.poll() is not None:
        pytest.fail(f"serve exited with {serving.returncode}: {(cwd / 'serve.err').read_text()}")
    return serving, url


LOOP = """
    import json
    import pandas as pd
    import shipyard as sy
    from sklearn.linear_model import LogisticRegression

    rows = pd.DataFrame({"a": [0.0, 1.0, 0.2, 0.9], "b": [1.0, 0.0, 0.9, 0.1], "label": [0, 1, 0, 1]})
    with sy.start_run(project="churn", name="lr") as run:
        run.log_params({"C": 1.0})
        for step in range(3):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        train = sy.datasets.register("churn-train", rows, project="churn")
        run.use_dataset(train, role="train")
        features = rows[["a", "b"]]
        mv = run.log_model(LogisticRegression().fit(features, rows.label), name="churn", train_data=train)
    sy.models.set_alias("churn", mv.version, "staging", project="churn")
    loaded = sy.models.load("churn@staging", project="churn")
    print(json.dumps({"run": run.id, "version": mv.version, "dataset": train.digest,
                      "predicted": [int(p) for p in loaded.predict(features)]}))
"""


def test_the_loop_through_the_python_api_and_the_cli(team: Server, tmp_path: Path) -> None:
    done = json.loads(run_python(LOOP, team.url, team.token, tmp_path))
    assert done["predicted"] == [0, 1, 0, 1]

    listed = shipyard_cli(team.url, team.token, tmp_path, "runs", "list", "--project", "churn", "--json")
    assert listed.returncode == 0, listed.stderr
    (run,) = json.loads(listed.stdout)["runs"]
    assert (run["id"], run["status"], run["metrics"]["loss"]) == (done["run"], "finished", pytest.approx(1 / 3))

    shown = shipyard_cli(team.url, team.token, tmp_path, "models", "show", "churn@staging", "-p", "churn", "--json")
    assert shown.returncode == 0, shown.stderr
    model = json.loads(shown.stdout)
    assert (model["version"], model["aliases"]) == (done["version"], ["staging"])
    assert not (tmp_path / ".shipyard").exists()  # nothing was stored beside the client


def test_serving_follows_the_alias_and_ships_its_log_through_the_server(team: Server, tmp_path: Path) -> None:
    client = client_of(team.url, team.token, tmp_path)
    first, second = log_churn(client), log_churn(client)
    client.models.set_alias("churn", first.version, "staging", project="churn")
    serving, url = serve(tmp_path, team)
    try:
        answer = httpx.post(f"{url}/predict", json={"rows": [{"a": 1.0, "b": 0.0}]}, timeout=30).json()
        assert answer["version"] == first.version
        fed = httpx.post(f"{url}/feedback", json={"request_id": answer["request_id"], "label": 1}, timeout=30)
        assert fed.status_code < 300, fed.text

        client.models.set_alias("churn", second.version, "staging", project="churn")
        served: list[int] = []

        def swapped() -> bool:
            answer = httpx.post(f"{url}/predict", json={"rows": [{"a": 0.0, "b": 1.0}]}, timeout=30)
            served.append(answer.json()["version"])
            return served[-1] == second.version

        wait_until("the swap to the newly aliased version", swapped)
    finally:
        assert stop(serving) == 0, (tmp_path / "serve.err").read_text()

    predictions = client.backend.predictions.segments("churn", "churn", "predictions")
    feedback = client.backend.predictions.segments("churn", "churn", "feedback")
    assert sum(s.rows for s in predictions) == 1 + len(served)
    assert sum(s.rows for s in feedback) == 1
    assert all(client.backend.blobs.exists(s.blob_digest) for s in predictions + feedback)
    client.close()


def test_a_server_outage_drops_and_counts_the_log_but_never_blocks_a_request(store: list[str], tmp_path: Path) -> None:
    with server(tmp_path, *store) as team:
        client = client_of(team.url, team.token, tmp_path)
        client.models.set_alias("churn", log_churn(client).version, "staging", project="churn")
        client.close()
        serving, url = serve(tmp_path, team)
    try:  # the server is gone from here on
        for _ in range(20):
            started = time.monotonic()
            answer = httpx.post(f"{url}/predict", json={"rows": [{"a": 1.0, "b": 0.0}]}, timeout=30)
            assert answer.status_code == 200
            assert time.monotonic() - started < 2.0

        def dropped() -> float:
            for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
                if line.startswith("shipyard_prediction_log_dropped "):
                    return float(line.split()[1])
            return 0.0

        wait_until("the log's records counted as dropped", lambda: dropped() >= 20)
    finally:
        assert stop(serving) == 0, (tmp_path / "serve.err").read_text()


def test_two_servers_on_one_store_show_one_state(team: Server, store: list[str], tmp_path: Path) -> None:
    with server(tmp_path, *store, name="replica") as replica:
        assert replica.token is None  # the admin exists already
        a, b = client_of(team.url, team.token, tmp_path), client_of(replica.url, team.token, tmp_path)
        with a.start_run(project="churn") as run:
            run.log_metric("auc", 0.8, step=0)
            run.flush()
            assert b.get_run(run.id).metrics == {"auc": 0.8}
            run.log_metric("auc", 0.85, step=1)
        assert [p.value for p in b.get_metric_history(run.id, "auc")] == [0.8, 0.85]
        assert b.get_run(run.id).status == "finished"

        version = log_churn(b)
        a.models.set_alias("churn", version.version, "staging", project="churn")
        assert b.models.get("churn@staging", project="churn").version == version.version
        assert a.models.load("churn@staging", project="churn").predict(ROWS).tolist() == LABELS
        a.close()
        b.close()


def test_killing_a_server_mid_batch_loses_no_acknowledged_point(team: Server, store: list[str], tmp_path: Path) -> None:
    with server(tmp_path, *store, name="replica") as replica:
        a = client_of(team.url, team.token, tmp_path)
        run = a.start_run(project="churn")
        acknowledged: list[int] = []
        for step in range(50):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
            if step % 5 == 4:
                run.flush()
                acknowledged = list(range(step + 1))
        run.log_metric("loss", 0.0, step=50)  # buffered, never acknowledged
        team.process.kill()
        team.process.wait()

        run.log_metric("loss", 0.0, step=51)
        started = time.monotonic()
        with pytest.raises(StoreError, match=team.url):
            run.flush()
        assert time.monotonic() - started < 30

        b = client_of(replica.url, team.token, tmp_path)
        stored = {p.step for p in b.get_metric_history(run.id, "loss")}
        assert set(acknowledged) <= stored
        assert len(acknowledged) == 50
        b.close()
        a.close()  # flushes quietly (the points of steps 50 and 51 have nowhere to go) and stops


def test_sigterm_lets_a_request_in_flight_finish(team: Server, tmp_path: Path) -> None:
    body = os.urandom(256 * 1024)
    digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
    uploads = tmp_path / "artifacts"

    def slowly() -> Iterator[bytes]:
        yield body[:1024]
        # The server has the request once it writes the upload's temporary file: signal it then.
        wait_until("the upload started", lambda: any(uploads.rglob("upload-*")), timeout=60)
        team.process.send_signal(signal.SIGTERM)
        yield body[1024:]

    answer = httpx.put(
        f"{team.url}/api/v1/blobs/{digest}",
        content=slowly(),
        headers={"authorization": f"Bearer {team.token}"},
        timeout=60,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["digest"] == digest
    # uvicorn raises the signal again after its graceful shutdown; `shipyard serve` turns that into 0
    # (cli._state.stop_cleanly_on_sigterm), `shipyard server` not yet.
    assert team.process.wait(60) in (0, -signal.SIGTERM)
    assert "Traceback" not in team.stderr.read_text()


def test_a_server_with_no_flags_serves_the_local_store_and_prints_the_token_once(tmp_path: Path) -> None:
    with server(tmp_path, name="first") as first:
        assert first.token is not None and first.token in first.output()
        assert (tmp_path / ".shipyard" / "shipyard.db").is_file()
        client = client_of(first.url, first.token, tmp_path / "..")
        assert client.backend.accounts.list_users()[0].name == "admin"
        client.close()
    with server(tmp_path, name="second") as second:
        assert second.token is None
        assert "sy_" not in second.output()
        assert answers(second.url, "/ready")


def assert_refused_as_outdated(cwd: Path, *args: str) -> None:
    """``shipyard server ARGS`` exits 2 at once, naming ``shipyard db upgrade``, and creates no admin."""
    refused = subprocess.run(
        [sys.executable, "-m", "shipyard.cli", "server", "--port", str(free_port()), *args],
        cwd=cwd,
        env=environ(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2
    assert "shipyard db upgrade" in refused.stderr
    assert "sy_" not in refused.stdout


def test_a_server_refuses_an_outdated_schema_naming_db_upgrade(
    postgres_url: str, store: list[str], tmp_path: Path
) -> None:
    from shipyard.store._engine import upgrade

    engine = sa.create_engine(postgres_url)
    upgrade(engine, "0009")
    engine.dispose()
    assert_refused_as_outdated(tmp_path, *store)

    upgraded = subprocess.run(
        [sys.executable, "-m", "shipyard.cli", "--uri", postgres_url, "db", "upgrade"],
        cwd=tmp_path,
        env=environ() | {"SHIPYARD_ARTIFACTS": store[3]},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert upgraded.returncode == 0, upgraded.stderr
    with server(tmp_path, *store) as started:
        assert started.token is not None


PIPELINE = """
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    import shipyard as sy

    @sy.step
    def load(rows: int) -> sy.Dataset:
        return pd.DataFrame({"a": [i % 7 for i in range(rows)], "y": [i % 2 for i in range(rows)]})

    @sy.step(register="churn")
    def train(data: sy.Dataset) -> sy.Model:
        df = data.to_pandas()
        return LogisticRegression().fit(df[["a"]], df["y"])

    @sy.pipeline(project="churn")
    def training(rows: int = 40):
        return train(load(rows))
"""


def test_a_pipeline_runs_against_the_server_and_its_cache_holds(team: Server, tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(textwrap.dedent(PIPELINE))
    first = shipyard_cli(team.url, team.token, tmp_path, "pipeline", "run", "flow.py:training", "--json")
    assert first.returncode == 0, first.stderr
    assert [s["status"] for s in json.loads(first.stdout)["steps"]] == ["finished", "finished"]
    again = shipyard_cli(team.url, team.token, tmp_path, "pipeline", "run", "flow.py:training", "--json")
    assert [s["status"] for s in json.loads(again.stdout)["steps"]] == ["cached", "cached"]
    client = client_of(team.url, team.token, tmp_path)
    assert client.models.get("churn", project="churn").version == 1
    client.close()
    assert not (tmp_path / ".shipyard").exists()


GATED_LOOP = """
    import json
    import numpy as np
    import pandas as pd
    import shipyard as sy
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression

    def frame(rows, seed):
        rng = np.random.default_rng(seed)
        df = pd.DataFrame({"tenure": rng.integers(0, 72, rows), "calls": rng.integers(0, 9, rows)})
        df["churned"] = (df["calls"] * 8 - df["tenure"] + rng.normal(0, 10, rows) > 0).astype(int)
        return df

    rows = frame(600, 1)
    train = sy.datasets.register("churn-train", rows, project="churn")
    sy.datasets.register("churn-eval", frame(300, 2), project="churn")
    x, y = rows[["tenure", "calls"]], rows["churned"]
    with sy.start_run(project="churn", name="good") as run:
        good = run.log_model(LogisticRegression().fit(x, y), "churn", train_data=train)
    with sy.start_run(project="churn", name="poor") as run:
        poor = run.log_model(DummyClassifier(strategy="prior").fit(x, y), "churn", train_data=train)
    sy.gate.apply(project="churn")
    verdicts = {mv.version: sy.gate.evaluate(mv, project="churn").passed for mv in (good, poor)}
    sy.models.promote(f"churn@{good.version}", project="churn")
    print(json.dumps({"good": good.version, "poor": poor.version, "passed": verdicts}))
"""

GATE_POLICY = """
[gate]
protected_aliases = ["champion"]
label = "churned"
data = "churn-eval"
[[gate.checks]]
kind = "min_metric"
metric = "roc_auc"
threshold = 0.75
"""


def test_the_gate_at_the_server_decides_the_champion_with_artifacts_on_s3(
    postgres_url: str, s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    (tmp_path / "shipyard.toml").write_text(GATE_POLICY)
    with server(tmp_path, "--db", postgres_url, "--artifacts", s3_bucket.url) as team:
        done = json.loads(run_python(GATED_LOOP, team.url, team.token, tmp_path))
        assert done["passed"] == {str(done["good"]): True, str(done["poor"]): False}

        shown = shipyard_cli(
            team.url, team.token, tmp_path, "models", "show", "churn@champion", "-p", "churn", "--json"
        )
        assert json.loads(shown.stdout)["version"] == done["good"], shown.stderr
        refused = shipyard_cli(team.url, team.token, tmp_path, "promote", f"churn@{done['poor']}", "-p", "churn")
        assert refused.returncode == GateBlocked.exit_code, refused.stderr
        assert "verdict" in refused.stderr


def test_a_server_with_no_flags_refuses_an_outdated_local_store(tmp_path: Path) -> None:
    from shipyard.store._engine import upgrade

    (tmp_path / ".shipyard").mkdir()
    engine = sa.create_engine(f"sqlite:///{tmp_path / '.shipyard' / 'shipyard.db'}")
    upgrade(engine, "0009")
    engine.dispose()
    assert_refused_as_outdated(tmp_path)
