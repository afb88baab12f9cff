"""Team-server benchmark: ``shipyard server`` over HTTP beside the same work embedded, MLflow's tracking server
and a bare ASGI floor, in one run (``make bench BENCH=server``).

    .venv/bin/python bench/server.py [--repeat N] [--quick] [--duration S] [--mlflow-repeat N]
        [--mlflow-sample S] [--mlflow-budget S] [--skip-mlflow] [--skip-get]

1. 10,000 ``run.log_metric`` calls + ``run.flush()`` through ``sy.Client("http://…", token=…)`` (the
   HttpBackend) against a ``shipyard server`` process on PostgreSQL, beside the same calls embedded on the
   same PostgreSQL (``sy.Client("postgresql+psycopg://…")``), beside ``mlflow.log_metric`` x10,000 against
   ``mlflow server`` (its default 4 workers, and ``--workers 1``) on the same PostgreSQL.
2. 1,000 runs created (``with client.start_run(…): pass``) the same three ways.
3. ``GET /api/v1/runs/get_run`` with the bearer token at concurrency 32 (``wrk``), ``shipyard server
   --workers 1`` and ``--workers 2``, beside a bare ASGI app answering a constant on the same uvicorn.

Every store is fresh: a PostgreSQL schema of its own (Shipyard's stores and each MLflow server's), created
here and dropped at the end. MLflow runs in its own virtualenv, ``bench/.venv-mlflow-server`` (``pip install
mlflow psycopg2-binary``, made on first use); its client side is ``bench/_server_mlflow.py``. Measurement
holds ``/tmp/shipyard-bench.lock`` (taken here unless this process already holds it, e.g. under
``flock /tmp/shipyard-bench.lock …``). Writes ``bench/results/server-<UTC timestamp>.json`` with
``headlines`` (``bench/_headlines.py``). See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _headlines import headline
from _serving_peers import make_venv, module_version, usable
from _serving_wrk import LOADGEN_CPU, WRK_SCRIPT, percentile, resolve_loadgen

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SRC = REPO / "src"
RESULTS = BENCH / "results"
LOCK = Path("/tmp/shipyard-bench.lock")
MLFLOW_VENV = BENCH / ".venv-mlflow-server"
MLFLOW_CHECK = "import mlflow, psycopg2, mlflow.server"
MLFLOW_CLIENT = BENCH / "_server_mlflow.py"
ASGI_FLOOR = BENCH / "_serving_asgi_floor.py"
POSTGRES_URL = os.environ.get("SHIPYARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

N_POINTS = 10_000
N_RUNS = 1_000
CONCURRENCY = 32
SERVER_CPU = 0
READY_TIMEOUT_S = 180.0
TARGET_VS_EMBEDDED = 3.0  # HTTP at most 3x the embedded time
TARGET_METRICS_VS_MLFLOW = 1_000.0
TARGET_RUNS_VS_MLFLOW = 50.0
TARGET_GET_RPS = 1_500.0
TARGET_GET_P99_MS = 50.0
MLFLOW_CONFIGS = ((4, "mlflow server (default: 4 workers)"), (1, "mlflow server --workers 1"))

GET_HEAD = 'wrk.method = "POST"\nwrk.body = [==[{body}]==]\nwrk.headers["Content-Type"] = "application/json"\n'
assert GET_HEAD in WRK_SCRIPT, "bench/_serving_wrk.py's script changed: update GET_SCRIPT here"
GET_SCRIPT = WRK_SCRIPT.replace(GET_HEAD, 'wrk.method = "GET"\nwrk.headers["Authorization"] = "Bearer {token}"\n')


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def short(exc: BaseException | str) -> str:
    text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    return (text.strip().splitlines() or [""])[0][:300]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1e3:.0f} ms"


def fmt_x(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}x" if value < 100 else f"{value:,.0f}x"


def median(samples: list[float]) -> float | None:
    return statistics.median(samples) if samples else None


# --- the machine and the lock --------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), platform.processor())
    return {"platform": platform.platform(), "nproc": os.cpu_count(), "cpu_model": model}


def busiest_processes(n: int = 5) -> list[str]:
    """What else was running: the top CPU users (``ps``'s %CPU is over each process's lifetime)."""
    command = ["ps", "-eo", "pcpu,pid,comm", "--sort=-pcpu", "--no-headers"]
    done = subprocess.run(command, capture_output=True, text=True)
    mine = str(os.getpid())
    lines = [line.split() for line in done.stdout.splitlines()]
    return [" ".join(fields) for fields in lines if fields[1] != mine and fields[2] != "ps"][:n]


def already_locked() -> bool:
    """True when this process inherited a descriptor of the lock file (``flock /tmp/shipyard-bench.lock …``)."""
    for fd in Path("/proc/self/fd").iterdir():
        try:
            if os.readlink(fd) == str(LOCK):
                return True
        except OSError:
            continue
    return False


@contextmanager
def bench_lock() -> Iterator[None]:
    if already_locked():
        log(f"{LOCK} is held by the flock this runs under")
        yield
        return
    with LOCK.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for {LOCK} (another benchmark is running) ...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


# --- PostgreSQL: a schema per store, Shipyard's and MLflow's -----------------------------------------
class Postgres:
    def __init__(self) -> None:
        import sqlalchemy as sa

        self.sa = sa
        self.engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with self.engine.connect() as conn:
            self.version = str(conn.execute(sa.text("SHOW server_version")).scalar())
        self.prefix = f"shipyard_bench_server_{uuid.uuid4().hex[:8]}"
        self.schemas: list[str] = []

    def _execute(self, sql: str) -> None:
        with self.engine.connect() as conn:
            conn.execute(self.sa.text(sql))

    def schema_url(self, name: str, driver: str | None = None) -> str:
        """A URL whose connections live in a new schema (``driver``: another SQLAlchemy driver, for MLflow)."""
        schema = f"{self.prefix}_{name}"
        self._execute(f'CREATE SCHEMA "{schema}"')
        self.schemas.append(schema)
        url = self.sa.engine.make_url(POSTGRES_URL)
        if driver is not None:
            url = url.set(drivername=driver)
        return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        for schema in self.schemas:
            self._execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        self.engine.dispose()


# --- server processes ----------------------------------------------------------------------------------
def http_get(url: str, token: str | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class Process:
    popen: subprocess.Popen[bytes]
    base: str
    output: Path

    def tail(self) -> str:
        return " | ".join(self.output.read_text(errors="replace").strip().splitlines()[-6:])[-700:]

    def wait_ready(self, path: str) -> float:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < READY_TIMEOUT_S:
            if self.popen.poll() is not None:
                raise RuntimeError(f"the server exited {self.popen.returncode} before it was ready: {self.tail()}")
            try:
                if http_get(self.base + path, timeout=1.0)[0] == 200:
                    return time.perf_counter() - t0
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"not ready after {READY_TIMEOUT_S:.0f} s: {self.tail()}")

    def stop(self) -> None:
        """SIGTERM to the process group (the servers' workers are children), SIGKILL after 30 s."""
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        except ProcessLookupError:
            pass


def spawn(command: list[str], tmp: Path, name: str, env: dict[str, str], cpu: int | None = None) -> Process:
    port = free_port()
    command = [arg.replace("{port}", str(port)) for arg in command]
    if cpu is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu), *command]
    tmp.mkdir(parents=True, exist_ok=True)
    output = tmp / f"{name}-{port}.log"
    with output.open("wb") as sink:
        popen = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    return Process(popen, f"http://127.0.0.1:{port}", output)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith(("SHIPYARD_", "MLFLOW_"))}
    return env | extra


@contextmanager
def shipyard_server(
    db: str, tmp: Path, workers: int, cpu: int | None = None, token: str | None = None
) -> Iterator[tuple[Process, str]]:
    """``shipyard server --db DB --workers N`` (its defaults otherwise: access log at info); yields it and a token
    (the first admin's, read from its output on the store's first start; ``token`` on later starts)."""
    command = [sys.executable, "-m", "shipyard.cli", "server", "--db", db, "--artifacts", str(tmp / "artifacts")]
    command += ["--port", "{port}", "--workers", str(workers)]
    server = spawn(command, tmp, f"shipyard-w{workers}", clean_env(PYTHONPATH=str(SRC)), cpu)
    try:
        server.wait_ready("/ready")
        printed = [w for w in server.output.read_text(errors="replace").split() if w.startswith("sy_")]
        token = printed[0] if printed else token
        if token is None:
            raise RuntimeError(f"the server printed no admin token: {server.tail()}")
        yield server, token
    finally:
        server.stop()


# --- rows 1 and 2: Shipyard's client, over HTTP and embedded -------------------------------------------
def import_shipyard() -> Any:
    sys.path.insert(0, str(SRC))  # benchmark this checkout
    try:
        import shipyard as sy

        sy.Client  # noqa: B018
    except Exception as exc:
        sys.exit(f"error: cannot use Shipyard ({short(exc)}); run `make setup` from the repository root.")
    return sy


def loss(step: int) -> float:
    return 1.0 / (1.0 + 0.001 * step)


def shipyard_writes(client: Any) -> dict[str, float]:
    """One untimed warm-up run, then row 1 (10,000 log_metric + flush) and row 2 (1,000 runs), each checked."""
    with client.start_run(project="warm-up", name="warm-up") as run:
        for step in range(3):
            run.log_metric("loss", loss(step), step=step)
        run.flush()
    with client.start_run(project="bench", name="log-metric") as run:
        t0 = time.perf_counter()
        for step in range(N_POINTS):
            run.log_metric("loss", loss(step), step=step)
        run.flush()
        metrics_s = time.perf_counter() - t0
    if len(client.get_metric_history(run.id, "loss")) != N_POINTS:
        raise RuntimeError("the metric history does not hold every point")
    t0 = time.perf_counter()
    for i in range(N_RUNS):
        with client.start_run(project="bench-runs", name=f"r{i}"):
            pass
    runs_s = time.perf_counter() - t0
    if len(client.search_runs(project="bench-runs", max_results=N_RUNS)) != N_RUNS:
        raise RuntimeError(f"search_runs does not find the {N_RUNS} runs")
    return {"metrics": metrics_s, "runs": runs_s}


def run_shipyard(sy: Any, pg: Postgres, repeat: int, tmp: Path) -> dict[str, dict[str, list[float]]]:
    samples: dict[str, dict[str, list[float]]] = {"http": {"metrics": [], "runs": []}, "embedded": {}}
    samples["embedded"] = {"metrics": [], "runs": []}
    for i in range(repeat):
        url = pg.schema_url(f"embedded{i}")
        client = sy.Client(url, artifacts=str(tmp / f"embedded{i}"))
        try:
            got = shipyard_writes(client)
        finally:
            client.close()
        for key, value in got.items():
            samples["embedded"][key].append(value)
        log(f"  embedded on PostgreSQL {i + 1}/{repeat}: {fmt_s(got['metrics'])} / {fmt_s(got['runs'])}")
        with shipyard_server(pg.schema_url(f"http{i}"), tmp / f"http{i}", workers=1) as (server, token):
            client = sy.Client(server.base, token=token)
            try:
                got = shipyard_writes(client)
            finally:
                client.close()
        for key, value in got.items():
            samples["http"][key].append(value)
        log(f"  over HTTP (1 worker) {i + 1}/{repeat}: {fmt_s(got['metrics'])} / {fmt_s(got['runs'])}")
    return samples


# --- rows 1 and 2: MLflow's tracking server ------------------------------------------------------------
def mlflow_venv() -> Path:
    if usable(MLFLOW_VENV, MLFLOW_CHECK):
        return MLFLOW_VENV
    return make_venv(sys.executable, MLFLOW_VENV, ["mlflow", "psycopg2-binary"], MLFLOW_CHECK, "mlflow")


def run_mlflow(
    venv: Path, pg: Postgres, repeat: int, sample_s: float, budget_s: float, tmp: Path
) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """Per worker count: per op, one result per start of ``mlflow server`` on a new schema."""
    out: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for workers, label in MLFLOW_CONFIGS:
        out[workers] = {"metrics": [], "runs": []}
        for i in range(repeat):
            db = pg.schema_url(f"mlflow_w{workers}_{i}", driver="postgresql+psycopg2")
            folder = tmp / f"mlflow-w{workers}-{i}"
            folder.mkdir()
            command = [str(venv / "bin" / "mlflow"), "server", "--backend-store-uri", db, "--host", "127.0.0.1"]
            command += ["--port", "{port}", "--default-artifact-root", (folder / "artifacts").as_uri()]
            command += ["--workers", "1"] if workers == 1 else []
            server = spawn(command, folder, "mlflow", clean_env())
            try:
                started = server.wait_ready("/health")
                log(f"  {label}: ready in {started:.1f} s")
                for op, n in (("metrics", N_POINTS), ("runs", N_RUNS)):
                    client = [str(venv / "bin" / "python"), str(MLFLOW_CLIENT), "--url", server.base, "--op", op]
                    client += ["--n", str(n), "--sample-s", str(sample_s), "--budget-s", str(budget_s)]
                    done = subprocess.run(
                        client,
                        capture_output=True,
                        text=True,
                        cwd=folder,
                        env=clean_env(),
                    )
                    if done.returncode != 0:
                        raise RuntimeError(f"the MLflow client exited {done.returncode}: {done.stderr.strip()[-500:]}")
                    result = json.loads(done.stdout.strip().splitlines()[-1])
                    out[workers][op].append(result)
                    how = f" (extrapolated from {result['done']:,} in {fmt_s(result['measured_s'])})"
                    log(f"  {label} {op}: {fmt_s(result['seconds'])}{how if result['extrapolated'] else ''}")
            finally:
                server.stop()
    return out


# --- row 3: GET a run at concurrency 32 ----------------------------------------------------------------
def wrk_get(url: str, token: str, connections: int, duration: int, tmp: Path, cpu: int | None) -> dict[str, Any]:
    """``wrk`` GETs with the bearer token, every request timed by the script (see ``bench/_serving_wrk.py``)."""
    histogram, script = tmp / "get-histogram.txt", tmp / "get.lua"
    script.write_text(GET_SCRIPT.format(token=token, histogram=histogram))
    histogram.unlink(missing_ok=True)
    command = ["wrk", f"-t{connections}", f"-c{connections}", f"-d{duration}s", "--timeout=10s", "-s", str(script), url]
    if cpu is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu), *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120)
    lines = [line for line in done.stdout.splitlines() if line.startswith('{"requests"')]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk exited {done.returncode}: {(done.stderr or done.stdout).strip()[-400:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    timed = {int(us): int(n) for us, n in (line.split() for line in histogram.read_text().splitlines())}
    result.update(p50_us=percentile(timed, 50), p99_us=percentile(timed, 99), max_us=float(max(timed, default=0)))
    result["errors"] = sum(result[k] for k in ("non_2xx", "connect_errors", "read_errors", "write_errors", "timeouts"))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def measure_get(label: str, url: str, token: str, duration: int, tmp: Path, pinned: bool) -> dict[str, Any]:
    status, raw = http_get(url, token, timeout=30)
    if status != 200:
        raise RuntimeError(f"{label}: GET {url} answered {status}: {raw[:200]!r}")
    cpu = LOADGEN_CPU if pinned else None
    wrk_get(url, token, 8, 2, tmp, cpu)  # warm-up
    result = wrk_get(url, token, CONCURRENCY, duration, tmp, cpu)
    flag = f", {result['errors']} ERRORS" if result["errors"] else ""
    log(
        f"  {label}: {result['rps']:,.0f} req/s, p50 {result['p50_us'] / 1e3:.1f} ms, "
        f"p99 {result['p99_us'] / 1e3:.1f} ms{flag}"
    )
    return result


def run_get(sy: Any, pg: Postgres, repeat: int, duration: int, tmp: Path) -> dict[str, list[dict[str, Any]]]:
    """Shipyard with 1 worker (pinned to CPU 0, wrk to CPU 1), with 2 workers (unpinned), the ASGI floor (CPU 0)."""
    pinned = (os.cpu_count() or 1) >= 2
    out: dict[str, list[dict[str, Any]]] = {"shipyard-w1": [], "shipyard-w2": [], "floor-asgi": []}
    db, token, run_id = pg.schema_url("get"), None, ""
    for i in range(repeat):
        for workers in (1, 2):
            cpu = SERVER_CPU if pinned and workers == 1 else None
            with shipyard_server(db, tmp / "get", workers, cpu, token) as (server, token):
                if not run_id:  # a run as a user leaves it: params, a few metrics with history, tags
                    client = sy.Client(server.base, token=token)
                    with client.start_run(project="bench", name="get-me", tags={"team": "a"}) as run:
                        run.log_params({f"p{k}": k for k in range(10)})
                        for step in range(100):
                            run.log_metrics({f"m{k}": loss(step) for k in range(5)}, step=step)
                    run_id = run.id
                    client.close()
                url = f"{server.base}/api/v1/runs/get_run?run_id={run_id}"
                out[f"shipyard-w{workers}"].append(
                    measure_get(f"shipyard --workers {workers} ({i + 1}/{repeat})", url, token, duration, tmp, pinned)
                )
        floor_cmd = [sys.executable, str(ASGI_FLOOR), "--port", "{port}"]
        floor = spawn(floor_cmd, tmp, "floor", clean_env(), SERVER_CPU if pinned else None)
        try:
            floor.wait_ready("/ready")
            label = f"floor: bare ASGI ({i + 1}/{repeat})"
            out["floor-asgi"].append(measure_get(label, f"{floor.base}/ready", "x", duration, tmp, pinned))
        finally:
            floor.stop()
    return out


# --- report --------------------------------------------------------------------------------------------
def mlflow_best(mlflow: dict[int, dict[str, list[dict[str, Any]]]], op: str) -> tuple[float | None, str, bool]:
    """The faster MLflow configuration's median for ``op``: (seconds, label, extrapolated)."""
    best: tuple[float | None, str, bool] = (None, "", False)
    for workers, label in MLFLOW_CONFIGS:
        results = mlflow.get(workers, {}).get(op, [])
        seconds = median([r["seconds"] for r in results])
        if seconds is not None and (best[0] is None or seconds < best[0]):
            best = (seconds, label, any(r["extrapolated"] for r in results))
    return best


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def write_rows(shipyard: dict[str, dict[str, list[float]]], mlflow: dict[int, Any]) -> list[dict[str, Any]]:
    rows = []
    for op, label, n, target in (
        ("metrics", f"1. log_metric x{N_POINTS:,} (+ flush)", N_POINTS, TARGET_METRICS_VS_MLFLOW),
        ("runs", f"2. create {N_RUNS:,} runs", N_RUNS, TARGET_RUNS_VS_MLFLOW),
    ):
        http, embedded = median(shipyard["http"][op]), median(shipyard["embedded"][op])
        per_config = {}
        for workers, _ in MLFLOW_CONFIGS:
            results = mlflow.get(workers, {}).get(op, [])
            per_config[workers] = {
                "seconds": median([r["seconds"] for r in results]),
                "samples": results,
                "extrapolated": any(r["extrapolated"] for r in results),
            }
        best, best_label, best_extrapolated = mlflow_best(mlflow, op)
        vs_mlflow = ratio(best, http)
        vs_embedded = ratio(http, embedded)
        rows.append(
            {
                "op": op,
                "label": label,
                "n": n,
                "http_s": http,
                "http_samples": shipyard["http"][op],
                "embedded_s": embedded,
                "embedded_samples": shipyard["embedded"][op],
                "http_over_embedded": vs_embedded,
                "mlflow": {str(w): v for w, v in per_config.items()},
                "mlflow_best_s": best,
                "mlflow_best": best_label,
                "mlflow_best_extrapolated": best_extrapolated,
                "x_faster_than_mlflow": vs_mlflow,
                "target_vs_mlflow": target,
                "met_vs_mlflow": None if vs_mlflow is None else vs_mlflow >= target,
                "met_vs_embedded": None
                if op != "metrics" or vs_embedded is None
                else vs_embedded <= TARGET_VS_EMBEDDED,
            }
        )
    return rows


def verdict(met: bool | None) -> str:
    return "n/a" if met is None else "met" if met else "MISSED"


def write_table(rows: list[dict[str, Any]]) -> str:
    head = (
        "row",
        "shipyard HTTP",
        "embedded (same PG)",
        "HTTP/embedded",
        "mlflow 4 workers",
        "mlflow 1 worker",
        "mlflow/shipyard",
        "target",
    )
    lines = [head]
    for row in rows:
        cells = []
        for workers in ("4", "1"):
            figure = row["mlflow"][workers]
            cells.append(fmt_s(figure["seconds"]) + (" (extrap.)" if figure["extrapolated"] else ""))
        targets = [f">={row['target_vs_mlflow']:,.0f}x mlflow: {verdict(row['met_vs_mlflow'])}"]
        if row["op"] == "metrics":
            targets.insert(0, f"<={TARGET_VS_EMBEDDED:.0f}x embedded: {verdict(row['met_vs_embedded'])}")
        lines.append(
            (
                row["label"],
                fmt_s(row["http_s"]),
                fmt_s(row["embedded_s"]),
                fmt_x(row["http_over_embedded"]),
                *cells,
                fmt_x(row["x_faster_than_mlflow"]),
                "; ".join(targets),
            )
        )
    return render(lines)


def get_rows(get: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, results in get.items():
        ok = [r for r in results if r.get("rps")]
        out[name] = {
            "rps": median([r["rps"] for r in ok]),
            "p50_ms": median([r["p50_us"] / 1e3 for r in ok]),
            "p99_ms": median([r["p99_us"] / 1e3 for r in ok]),
            "errors": sum(r["errors"] for r in ok),
            "samples": results,
        }
    return out


def get_table(rows: dict[str, dict[str, Any]]) -> str:
    floor = rows.get("floor-asgi", {}).get("rps")
    w1 = rows.get("shipyard-w1", {}).get("rps")
    lines = [("server", f"c={CONCURRENCY} req/s", "p50", "p99", "errors", "share of floor", "vs 1 worker")]
    labels = {
        "shipyard-w1": "shipyard server --workers 1",
        "shipyard-w2": "shipyard server --workers 2",
        "floor-asgi": "floor: bare ASGI constant",
    }
    for name, label in labels.items():
        row = rows.get(name)
        if not row or row["rps"] is None:
            lines.append((label, "-", "-", "-", "-", "-", "-"))
            continue
        share = ratio(row["rps"], floor)
        lines.append(
            (
                label,
                f"{row['rps']:,.0f}",
                f"{row['p50_ms']:.1f} ms",
                f"{row['p99_ms']:.1f} ms",
                str(row["errors"]),
                "-" if share is None or name == "floor-asgi" else f"{share:.0%}",
                fmt_x(ratio(row["rps"], w1)) if name == "shipyard-w2" else "-",
            )
        )
    return render(lines)


def render(lines: list[tuple[str, ...]]) -> str:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = [" | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines]
    out.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(out)


def build_headlines(rows: list[dict[str, Any]], get: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    metrics, runs = rows
    note_pg = "Shipyard and MLflow on the same PostgreSQL server (a fresh schema each)"
    if metrics["http_s"] is not None:
        out.append(
            headline(
                f"{N_POINTS:,} log_metric over HTTP (+ flush) vs embedded on PostgreSQL",
                ours=metrics["http_s"],
                unit="s",
                floor=metrics["embedded_s"],
                floor_name="the same calls embedded on the same PostgreSQL",
                same_work=f"{N_POINTS:,} run.log_metric calls + run.flush(), one run, read back whole",
                differs="over HTTP the client batches the points into requests, the server writes them",
                target=f"<= {TARGET_VS_EMBEDDED:.0f}x embedded",
                met=metrics["met_vs_embedded"],
            )
        )
    for row, what, how in (
        (
            metrics,
            f"{N_POINTS:,} log_metric calls, one run, then durable (Shipyard: + flush; MLflow: synchronous)",
            " MLflow's log_metric is one request per call; Shipyard's client batches the points into requests.",
        ),
        (
            runs,
            f"{N_RUNS:,} runs started and ended one at a time",
            " Each is two requests on Shipyard's side (create_run, end_run).",
        ),
    ):
        if row["http_s"] is None or row["mlflow_best_s"] is None:
            continue
        extrapolated = (
            " MLflow's figure is extrapolated from a subset (over 5 minutes)."
            if row["mlflow_best_extrapolated"]
            else ""
        )
        out.append(
            headline(
                f"{row['label'][3:]} over HTTP vs MLflow's tracking server",
                ours=row["http_s"],
                unit="s",
                peer=row["mlflow_best"],
                theirs=row["mlflow_best_s"],
                same_work=what,
                differs=f"{note_pg}; the faster MLflow worker setting is the one compared.{extrapolated}{how}",
                target=f">= {row['target_vs_mlflow']:,.0f}x faster than MLflow",
                met=row["met_vs_mlflow"],
            )
        )
    w1, floor = get.get("shipyard-w1", {}), get.get("floor-asgi", {})
    if w1.get("rps"):
        met = w1["rps"] >= TARGET_GET_RPS and w1["p99_ms"] < TARGET_GET_P99_MS and not w1["errors"]
        out.append(
            headline(
                f"GET a run at concurrency {CONCURRENCY}, 1 worker",
                ours=w1["rps"],
                unit="req/s",
                floor=floor.get("rps"),
                floor_name="bare ASGI constant on the same uvicorn",
                higher_is_better=True,
                same_work=f"wrk, {CONCURRENCY} connections, GET with a bearer token, closed loop",
                differs=f"Shipyard checks the token, reads the run from PostgreSQL and encodes it; the floor answers "
                f"a constant; p99 {w1['p99_ms']:.1f} ms",
                target=f">= {TARGET_GET_RPS:,.0f} req/s and p99 < {TARGET_GET_P99_MS:.0f} ms",
                met=met,
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="Shipyard measurements and GET starts per figure")
    parser.add_argument("--mlflow-repeat", type=int, default=1, help="starts of each mlflow server (minutes each)")
    parser.add_argument("--mlflow-sample", type=float, default=60.0, help="seconds before MLflow's rate is judged")
    parser.add_argument(
        "--mlflow-budget", type=float, default=300.0, help="extrapolate MLflow's figure when it would take longer"
    )
    parser.add_argument("--duration", type=int, default=None, help="seconds of GET load per start (default 10)")
    parser.add_argument("--quick", action="store_true", help="smoke: 1 repeat, 3 s of GET, MLflow capped at 10 s/30 s")
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--skip-get", action="store_true", help="leave out row 3")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    mlflow_repeat = 1 if args.quick else args.mlflow_repeat
    duration = args.duration or (3 if args.quick else 10)
    sample_s, budget_s = (10.0, 30.0) if args.quick else (args.mlflow_sample, args.mlflow_budget)
    if min(repeat, mlflow_repeat, duration) < 1:
        parser.error("--repeat, --mlflow-repeat and --duration must be at least 1")
    if not sys.platform.startswith("linux"):
        sys.exit("error: this benchmark reads /proc and uses process groups; it runs on Linux only")
    sy = import_shipyard()
    try:
        pg = Postgres()
    except Exception as exc:
        sys.exit(f"error: PostgreSQL at {POSTGRES_URL} is not reachable ({short(exc)}); set SHIPYARD_TEST_POSTGRES_URL")
    venv = None if args.skip_mlflow else mlflow_venv()
    loadgen = None if args.skip_get else resolve_loadgen(shutil.which("taskset"))
    if loadgen is not None and loadgen.kind != "wrk":
        sys.exit(f"error: row 3 needs wrk ({loadgen.note}); install it or pass --skip-get")
    started, wall0 = dt.datetime.now(dt.UTC), time.perf_counter()
    mlflow: dict[int, Any] = {}
    get: dict[str, list[dict[str, Any]]] = {}
    with bench_lock(), tempfile.TemporaryDirectory(prefix="shipyard-bench-server-") as tmp_name:
        tmp = Path(tmp_name)
        load_before, busy = os.getloadavg(), busiest_processes()
        log(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
        try:
            log(f"rows 1-2, Shipyard ({repeat} repeat(s)) ...")
            shipyard = run_shipyard(sy, pg, repeat, tmp)
            if venv is not None:
                log(f"rows 1-2, MLflow ({mlflow_repeat} start(s) per setting) ...")
                mlflow = run_mlflow(venv, pg, mlflow_repeat, sample_s, budget_s, tmp)
            if loadgen is not None:
                log(f"row 3, GET at concurrency {CONCURRENCY}, {duration} s per start ...")
                get = run_get(sy, pg, repeat, duration, tmp)
        finally:
            pg.drop_all()
        load_after = os.getloadavg()
    rows = write_rows(shipyard, mlflow)
    get_summary = get_rows(get)
    wall = time.perf_counter() - wall0
    info = machine()
    mlflow_version = module_version(venv, "mlflow") if venv else None
    notes = [
        f"machine: {info['nproc']} CPUs, {info['cpu_model']}; {info['platform']}; PostgreSQL {pg.version}",
        f"load average before {load_before[0]:.2f} / after {load_after[0]:.2f} (1 min); busiest processes at the "
        f"start: {'; '.join(busy)}",
        (
            "a busy machine (load average over 1 at the start): other work ran beside this; compare ratios "
            "within one run"
            if load_before[0] > 1.0
            else "a quiet machine at the start (load average under 1); only this benchmark's processes ran"
        ),
        "shipyard server: its defaults (access log at info, one JSON line per request) but --workers; the "
        "clients run in this process (sy.Client over HTTP with the token, and embedded on the same PostgreSQL)",
        f"mlflow server {mlflow_version} (bench/.venv-mlflow-server) on the same PostgreSQL (a schema of its "
        f"own per start), client: synchronous log_metric / start_run; a figure is extrapolated linearly from "
        f"the calls made in the first {sample_s:.0f} s when the whole would take over {budget_s:.0f} s",
        "row 3: shipyard --workers 1 and the floor pinned to CPU 0 and wrk to CPU 1 (taskset); --workers 2 is "
        "not pinned, so its 2 workers share the 2 CPUs with wrk and PostgreSQL",
    ]
    print(write_table(rows))
    if get:
        print()
        print(get_table(get_summary))
    print()
    for note in notes:
        print(f"- {note}")
    print(f"- wall time {wall:.0f} s")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"server-{started:%Y%m%dT%H%M%SZ}.json"
    report = {
        "bench": "server",
        "started": started.isoformat(),
        "quick": args.quick,
        "args": vars(args),
        "versions": {
            "python": platform.python_version(),
            "postgresql": pg.version,
            "mlflow": mlflow_version,
            "loadgen": loadgen.version if loadgen else None,
        },
        "machine": info | {"loadavg_before_after": [load_before, load_after], "busiest_at_start": busy},
        "rows": rows,
        "get": get_summary,
        "notes": notes,
        "wall_s": wall,
        "headlines": build_headlines(rows, get_summary),
    }
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"- report: {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
