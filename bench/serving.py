"""Serving benchmark: Shipyard's model server beside BentoML, ``mlflow models serve`` and the floors, in one run.

    .venv/bin/python bench/serving.py [--repeat N] [--quick] [--duration S] [--levels 1,8,32,64]
        [--skip-mlflow] [--skip-bentoml] [--skip-shipyard] [--floor-pairs N]

One scikit-learn LogisticRegression (20 float features, fitted on pandas) is served by: Shipyard
(``shipyard serve``); BentoML (``bentoml serve``, without and with adaptive batching, in its own
virtualenv); MLflow (``mlflow models serve --env-manager local``) as ``pip install mlflow`` gives it and on
the same HTTP stack as Shipyard (uvloop + httptools), each in its own virtualenv; a bare ASGI app that
parses the body and returns a constant (the throughput floor); a FastAPI endpoint returning a constant (a
reference) and one calling ``model.predict`` on the row (the predict floor); all with one worker. ``wrk``
(installed with apt-get if missing) drives each with single-row POSTs at concurrency 1, 8, 32 and 64; the
model's in-process batch ``predict`` gives the rows/s ceiling. Prints requests/s, p50 and p99 (closed-loop
and wrk's coordinated-omission-corrected) per server and level (medians of ``--repeat`` runs), the ratios,
the targets met/missed, what each side validates, and the serving processes' peak memory against the
model's footprint; writes ``bench/results/serving-<timestamp>.json`` with ``headlines`` (see
``bench/_headlines.py``). See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import platform
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _serving_peers import bentoml_venv, mlflow_uvloop_venv, mlflow_venv, module_version
from _serving_report import (
    HIGH_LEVELS,
    TARGET_MEMORY_EXTRA_MB,
    answers,
    better_bentoml,
    evaluate,
    fmt_mb,
    fmt_ms,
    headlines,
    paired_ratios,
    ratio,
    summarize,
    table,
    times,
    verdict,
)
from _serving_wrk import LOADGEN_CPU, WRK_TIMEOUT, LoadGen, resolve_loadgen

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
SRC = REPO / "src"  # the Shipyard benchmarked; --src replaces it (e.g. a snapshot of a commit)
FLOOR_APP = BENCH / "_serving_floor.py"
ASGI_FLOOR_APP = BENCH / "_serving_asgi_floor.py"
MLFLOW_HELPER = BENCH / "_serving_mlflow.py"
BENTOML_SERVICE = "_serving_bentoml"  # bench/_serving_bentoml.py, served from bench/

LEVELS = (1, 8, 32, 64)  # concurrent connections, one request in flight on each
N_FEATURES = 20
N_TRAIN = 10_000
BATCH_ROWS = 1_000_000
SERVER_CPU = 0
MODEL_NAME = "bench"
READY_TIMEOUT_S = 180.0  # MLflow's first start imports a lot


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def short(exc: BaseException | str) -> str:
    text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    return (text.strip().splitlines() or [""])[0][:300]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the model and the request bodies ------------------------------------------------------------------
def feature_names() -> list[str]:
    return [f"f{i}" for i in range(N_FEATURES)]


def build_model(tmp: Path) -> dict[str, Any]:
    """Fit the model on pandas, pickle it, keep its training rows (for MLflow) and the single request row."""
    import numpy as np
    import pandas as pd
    import sklearn
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    x = rng.normal(size=(N_TRAIN, N_FEATURES))
    weights = rng.normal(size=N_FEATURES)
    y = (x @ weights + rng.normal(scale=0.5, size=N_TRAIN) > 0).astype(np.int64)
    frame = pd.DataFrame(x, columns=feature_names())
    model = LogisticRegression(max_iter=1000).fit(frame, y)
    row = {name: round(float(v), 4) for name, v in zip(feature_names(), rng.normal(size=N_FEATURES), strict=True)}
    expected = model.predict(pd.DataFrame([row]))[0].item()
    pickled = tmp / "model.pkl"
    pickled.write_bytes(pickle.dumps(model))
    data = tmp / "train.npz"
    np.savez(data, x=x, y=y, columns=np.array(feature_names()))
    return {
        "model": model,
        "frame": frame,
        "pickled": pickled,
        "data": data,
        "row": row,
        "expected": expected,
        "sklearn": sklearn.__version__,
    }


def body(kind: str, row: dict[str, float]) -> bytes:
    key = "dataframe_records" if kind == "mlflow" else "rows"
    return json.dumps({key: [row]}, separators=(",", ":")).encode()


# --- floors measured in-process or in a bare interpreter ------------------------------------------------
def batch_floor(model: Any, repeat: int) -> dict[str, Any]:
    """Rows/s of ``model.predict`` on a 1,000,000-row DataFrame (the model's own ceiling, no HTTP)."""
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(np.random.default_rng(3).normal(size=(BATCH_ROWS, N_FEATURES)), columns=feature_names())
    model.predict(frame)  # warm-up
    samples = []
    for _ in range(max(5, repeat)):
        t0 = time.perf_counter()
        out = model.predict(frame)
        samples.append(time.perf_counter() - t0)
    assert len(out) == BATCH_ROWS
    return {"rows": BATCH_ROWS, "seconds": samples, "rows_per_s": BATCH_ROWS / statistics.median(samples)}


FOOTPRINT_CODE = """
import sys
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
stage = sys.argv[1]
if stage != "bare":
    import sklearn
if stage == "model":
    import pickle
    import pandas as pd
    with open(sys.argv[2], "rb") as file:
        model = pickle.load(file)
    model.predict(pd.DataFrame([dict(zip(model.feature_names_in_, [0.0] * model.n_features_in_))]))
print(rss())
"""


def model_footprint(pickled: Path) -> dict[str, Any]:
    """RSS of bare Python, of Python after ``import sklearn``, and after that plus loading the model (3 runs each)."""
    out: dict[str, Any] = {}
    for stage in ("bare", "sklearn", "model"):
        runs = []
        for _ in range(3):
            done = subprocess.run(
                [sys.executable, "-c", FOOTPRINT_CODE, stage, str(pickled)], capture_output=True, text=True, check=True
            )
            runs.append(int(done.stdout.strip()))
        out[f"{stage}_rss_bytes"] = statistics.median(runs)
    # The model's footprint is what a process needs to hold the model and predict with it: the interpreter,
    # its library and the fitted object. (What the object adds once scikit-learn is imported is kept as
    # model_delta_bytes; a limit built on that alone sits below `import sklearn` itself, so no Python server
    # of this model, the bare predict floor included, could meet it.)
    out["model_delta_bytes"] = out["model_rss_bytes"] - out["sklearn_rss_bytes"]
    out["model_bytes"] = out["model_rss_bytes"]
    out["limit_bytes"] = 2 * out["model_bytes"] + TARGET_MEMORY_EXTRA_MB * 2**20
    return out


# --- server processes ----------------------------------------------------------------------------------
def http(method: str, url: str, data: bytes | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def proc_memory(pid: int) -> tuple[int, int, str] | None:
    """(current RSS, peak RSS = VmHWM, command line) of a process, in bytes; None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None
    fields = {line.split(":")[0]: line.split()[1] for line in status.splitlines() if line.startswith("Vm")}
    if "VmRSS" not in fields:
        return None
    return int(fields["VmRSS"]) * 1024, int(fields.get("VmHWM", fields["VmRSS"])) * 1024, cmdline


class MemorySampler:
    """Samples the RSS of a process tree every 0.2 s; keeps each process's peak (VmHWM) and the tree's peak sum."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peaks: dict[int, tuple[int, str]] = {}
        self.tree_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def sample(self) -> None:
        total = 0
        for pid in descendants(self.pid):
            memory = proc_memory(pid)
            if memory is None:
                continue
            rss, peak, cmdline = memory
            total += rss
            self.peaks[pid] = (max(peak, self.peaks.get(pid, (0, ""))[0]), cmdline)
        self.tree_peak = max(self.tree_peak, total)

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            self.sample()

    def stop(self) -> dict[str, Any]:
        self.sample()  # the last look, before the processes go
        self._stop.set()
        self._thread.join()
        biggest = max(self.peaks.items(), key=lambda kv: kv[1][0], default=(0, (0, "")))
        return {
            "process_peak_bytes": biggest[1][0],
            "process": biggest[1][1][:200],
            "tree_peak_bytes": self.tree_peak,
            "processes": len(self.peaks),
        }


@dataclass
class Server:
    name: str  # shipyard, bentoml, bentoml-batching, mlflow, mlflow-uvloop, floor-asgi, floor-constant, ...
    label: str
    command: list[str]
    ready_path: str
    predict_path: str
    body_file: Path
    expected: int | None  # the prediction the preflight request must get back; None: not checked
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    detect_path: bool = False  # look the predict path up in /openapi.json once the server is up
    body_key: str = "rows"  # the body's key for the list of rows (MLflow: dataframe_records)
    validation: dict[str, int] = field(default_factory=dict)  # probe -> HTTP status (see VALIDATION_PROBES)
    unavailable: str | None = None
    failures: list[str] = field(default_factory=list)  # starts that failed (retried once)
    levels: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    memory: list[dict[str, Any]] = field(default_factory=list)
    startup_s: list[float] = field(default_factory=list)
    preflight: str = ""


def start(server: Server, tmp: Path, taskset: str | None) -> tuple[subprocess.Popen[bytes], int, Path]:
    port = free_port()
    command = [arg.replace("{port}", str(port)) for arg in server.command]
    if taskset:
        command = [taskset, "-c", str(SERVER_CPU), *command]
    output = tmp / f"{server.name}-{port}.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=server.env or None,
            cwd=server.cwd,
            start_new_session=True,
        )
    return process, port, output


def wait_ready(process: subprocess.Popen[bytes], url: str, output: Path) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < READY_TIMEOUT_S:
        if process.poll() is not None:
            tail = " | ".join(output.read_text(errors="replace").strip().splitlines()[-6:])
            raise RuntimeError(f"the server exited {process.returncode} before it was ready: {tail[-700:]}")
        try:
            if http("GET", url, timeout=1.0)[0] == 200:
                return time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"not ready after {READY_TIMEOUT_S:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (MLflow's CLI runs uvicorn as a child), SIGKILL after 15 s."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def find_predict_path(base: str, default: str) -> str:
    """The POST route of a server from its OpenAPI document (one with "predict" in it if several)."""
    try:
        status, raw = http("GET", f"{base}/openapi.json")
        paths = json.loads(raw)["paths"] if status == 200 else {}
    except (OSError, ValueError, KeyError):
        return default
    posts = [path for path, ops in paths.items() if "post" in ops and "{" not in path]
    preferred = [path for path in posts if "predict" in path] or posts
    return default if not preferred else default if default in preferred else sorted(preferred, key=len)[0]


def check_response(server: Server, status: int, raw: bytes) -> str:
    """Raise unless the preflight request got a 200 with the expected prediction; return what came back."""
    text = raw.decode(errors="replace")[:200]
    if status != 200:
        raise RuntimeError(f"POST {server.predict_path} answered {status}: {text}")
    if server.expected is not None:
        got = json.loads(raw)
        predictions = got.get("predictions") if isinstance(got, dict) else got
        first = predictions[0] if isinstance(predictions, list) and predictions else predictions
        if isinstance(first, dict):  # e.g. {"prediction": 1, ...} per row
            first = first.get("prediction", first.get("predictions", first))
        if first != server.expected:
            raise RuntimeError(f"POST {server.predict_path}: expected prediction {server.expected}, got {text}")
    return text


def probe_validation(server: Server, url: str) -> dict[str, int]:
    row = json.loads(server.body_file.read_bytes())[server.body_key][0]
    altered = {
        "string": {**row, "f0": "0.5"},
        "bool": {**row, "f0": True},
        "extra": {**row, "f20": 1.0},
        "missing": {k: v for k, v in row.items() if k != "f19"},
    }
    return {
        probe: http("POST", url, json.dumps({server.body_key: [bad]}).encode(), timeout=30)[0]
        for probe, bad in altered.items()
    }


def run_server(
    server: Server, loadgen: LoadGen, levels: tuple[int, ...], duration: int, warmup: int, tmp: Path
) -> None:
    """Start the server, check it answers right, warm it up, run every level, stop it; record it all."""
    process, port, output = start(server, tmp, loadgen.taskset)
    sampler = MemorySampler(process.pid)
    try:
        base = f"http://127.0.0.1:{port}"
        server.startup_s.append(wait_ready(process, base + server.ready_path, output))
        if server.detect_path:
            server.predict_path = find_predict_path(base, server.predict_path)
        url = base + server.predict_path
        server.preflight = check_response(server, *http("POST", url, server.body_file.read_bytes(), timeout=30))
        if not server.validation:
            server.validation = probe_validation(server, url)
        log(f"  {server.label}: ready in {server.startup_s[-1]:.1f} s; warm-up {warmup} s at concurrency 8 ...")
        loadgen.run(url, server.body_file, 8, warmup, tmp)
        for level in levels:
            result = loadgen.run(url, server.body_file, level, duration, tmp)
            server.levels.setdefault(level, []).append(result)
            flag = f", {result['errors']} ERRORS" if result["errors"] else ""
            log(
                f"  {server.label} c={level}: {result['rps']:,.0f} req/s, p50 {fmt_ms(result['p50_us'])}, "
                f"p99 {fmt_ms(result['p99_us'])}{flag}"
            )
        if process.poll() is not None:
            raise RuntimeError(f"the server exited {process.returncode} during the run")
    finally:
        server.memory.append(sampler.stop())
        stop(process)


def attempt(
    server: Server,
    loadgen: LoadGen,
    levels: tuple[int, ...],
    duration: int,
    warmup: int,
    tmp: Path,
    unavailable: dict[str, str],
) -> None:
    """``run_server``, once more if the server failed before its first level; unavailable after that."""
    for tries in (1, 2):
        done = sum(len(runs) for runs in server.levels.values())
        try:
            run_server(server, loadgen, levels, duration, warmup, tmp)
            return
        except Exception as exc:
            reason = short(exc)
            started = sum(len(runs) for runs in server.levels.values()) > done
            server.failures.append(reason)
            if tries == 2 or started:
                server.unavailable = unavailable[server.name] = reason
                log(f"  {server.label}: unavailable ({reason})")
                return
            log(f"  {server.label}: failed before its first level ({reason}); trying once more")


# --- the sides -----------------------------------------------------------------------------------------
def python_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith(("SHIPYARD_", "MLFLOW_"))}
    env.update(extra)
    return env


def shipyard_unavailable() -> str | None:
    """Why ``shipyard serve`` cannot be benchmarked, or None when it can."""
    if not (SRC / "shipyard" / "cli" / "serve.py").exists():
        return "src/shipyard/cli/serve.py does not exist yet"
    done = subprocess.run(
        [sys.executable, "-m", "shipyard.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        env=python_env(PYTHONPATH=str(SRC)),
        cwd=REPO,
    )
    if done.returncode != 0:
        return f"`shipyard serve --help` exited {done.returncode}: {short(done.stderr or done.stdout)}"
    return None


def shipyard_server(model: dict[str, Any], tmp: Path, path: str, extra: list[str]) -> tuple[Server, str]:
    """Register the model in a fresh store (project "default") and return the server that serves ``bench@1``."""
    sys.path.insert(0, str(SRC))  # benchmark this checkout (or --src), installed or not
    import shipyard as sy

    store = tmp / "shipyard-store"
    client = sy.Client(str(store))
    try:
        version = client.models.log(model["model"], MODEL_NAME, train_data=model["frame"])
        ref = version.ref
    finally:
        client.close()
    command = [sys.executable, "-m", "shipyard.cli", "--uri", str(store), "serve", ref]
    command += ["--port", "{port}", "--workers", "1", "--host", "127.0.0.1", *extra]
    server = Server(
        "shipyard",
        "shipyard",
        command,
        "/ready",
        path or "/predict",
        tmp / "body-rows.json",
        model["expected"],
        env=python_env(PYTHONPATH=str(SRC)),
        cwd=tmp,
        detect_path=not path,
    )
    return server, getattr(sy, "__version__", "?")


def mlflow_server(model: dict[str, Any], tmp: Path, venv: Path, name: str, label: str) -> tuple[Server, dict[str, Any]]:
    """Save the model with ``venv``'s MLflow and return the server that ``mlflow models serve``-s it."""
    folder = tmp / f"{name}-model"
    command = [str(venv / "bin" / "python"), str(MLFLOW_HELPER), "--model", str(model["pickled"])]
    command += ["--data", str(model["data"]), "--sklearn-version", model["sklearn"], "--out", str(folder)]
    env = python_env(PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise RuntimeError(f"saving the MLflow model failed: {short(last)}")
    info = json.loads(done.stdout.strip().splitlines()[-1])
    import numpy as np

    ours = model["model"]
    info["max_coef_difference"] = float(
        np.max(np.abs(np.concatenate([ours.coef_.ravel() - info["coef"], ours.intercept_.ravel() - info["intercept"]])))
    )
    info["venv"] = str(venv.relative_to(REPO))
    info["server_packages"] = {module: module_version(venv, module) for module in ("uvloop", "httptools", "uvicorn")}
    command = [str(venv / "bin" / "mlflow"), "models", "serve", "-m", str(folder), "--env-manager", "local"]
    command += ["--port", "{port}", "--host", "127.0.0.1", "--workers", "1"]
    server = Server(
        name,
        label,
        command,
        "/ping",
        "/invocations",
        tmp / "body-mlflow.json",
        model["expected"],
        env=env,
        cwd=tmp,
        body_key="dataframe_records",
    )
    return server, info


def bentoml_servers(model: dict[str, Any], tmp: Path, venv: Path) -> list[Server]:
    """``bentoml serve`` of bench/_serving_bentoml.py: one request per model call, and adaptive batching."""
    env = python_env(
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        SERVING_BENCH_MODEL=str(model["pickled"]),
        BENTOML_HOME=str(tmp / "bentoml-home"),  # no state left in the user's ~/bentoml
        BENTOML_DO_NOT_TRACK="true",  # no usage analytics sent from a benchmark
    )
    servers = []
    for name, label, service in (("bentoml", "bentoml", "Plain"), ("bentoml-batching", "bentoml batching", "Batched")):
        command = [str(venv / "bin" / "bentoml"), "serve", f"{BENTOML_SERVICE}:{service}"]
        command += ["--host", "127.0.0.1", "--port", "{port}", "--working-dir", str(BENCH)]
        servers.append(
            Server(name, label, command, "/readyz", "/predict", tmp / "body-rows.json", model["expected"], env=env)
        )
    return servers


def floor_servers(model: dict[str, Any], tmp: Path) -> list[Server]:
    env = python_env()
    base = [sys.executable, str(FLOOR_APP), "--port", "{port}"]
    rows = tmp / "body-rows.json"
    return [
        Server(
            "floor-asgi",
            "floor: ASGI",
            [sys.executable, str(ASGI_FLOOR_APP), "--port", "{port}"],
            "/ready",
            "/predict",
            rows,
            None,
            env=env,
            cwd=tmp,
        ),
        Server(
            "floor-constant",
            "ref: FastAPI constant",
            [*base, "--mode", "constant"],
            "/ready",
            "/predict",
            rows,
            None,
            env=env,
            cwd=tmp,
        ),
        Server(
            "floor-predict",
            "floor: predict",
            [*base, "--mode", "predict", "--model", str(model["pickled"])],
            "/ready",
            "/predict",
            rows,
            model["expected"],
            env=env,
            cwd=tmp,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="Shipyard's model server vs BentoML, MLflow and the floors.")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is shown")
    parser.add_argument("--quick", action="store_true", help="1 repeat, 3 s per level")
    parser.add_argument("--duration", type=int, default=None, help="seconds per concurrency level (default 10)")
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)), help="concurrency levels, comma-separated")
    parser.add_argument("--skip-mlflow", action="store_true", help="leave out both `mlflow models serve` rows")
    parser.add_argument("--skip-bentoml", action="store_true", help="leave out both `bentoml serve` rows")
    parser.add_argument(
        "--floor-pairs",
        type=int,
        default=None,
        help="extra back-to-back runs of Shipyard and the ASGI floor at c=32 and 64, for a stable ratio "
        "(default 3; 0 with --quick)",
    )
    parser.add_argument("--skip-shipyard", action="store_true", help="leave out `shipyard serve`")
    parser.add_argument("--shipyard-path", default="", help="Shipyard's predict route (default: from /openapi.json)")
    parser.add_argument(
        "--shipyard-args",
        default="",
        help="more `shipyard serve` options, e.g. --shipyard-args=--no-log (default: none)",
    )
    parser.add_argument(
        "--servers",
        default="",
        help="run only these rows, comma-separated (shipyard, floor-asgi, floor-constant, floor-predict, bentoml, "
        "mlflow), e.g. --servers shipyard,floor-asgi,floor-predict for the floor ratio and the memory over the "
        "predict floor (default: all)",
    )
    parser.add_argument(
        "--src", default="", help="the Shipyard source folder to benchmark (default: this checkout's src/)"
    )
    args = parser.parse_args()
    global SRC
    if args.src:
        SRC = Path(args.src).resolve()
    repeat = 1 if args.quick else args.repeat
    duration = args.duration or (3 if args.quick else 10)
    warmup = 1 if args.quick else 2
    floor_pairs = args.floor_pairs if args.floor_pairs is not None else 0 if args.quick else 3
    levels = tuple(int(x) for x in args.levels.split(","))
    chosen = set(filter(None, args.servers.split(",")))
    known = {"shipyard", "floor-asgi", "floor-constant", "floor-predict", "bentoml", "mlflow"}
    if chosen - known:
        parser.error(f"--servers: unknown {', '.join(sorted(chosen - known))}; choose from {', '.join(sorted(known))}")
    if chosen:
        args.skip_shipyard = args.skip_shipyard or "shipyard" not in chosen
        args.skip_bentoml = args.skip_bentoml or "bentoml" not in chosen
        args.skip_mlflow = args.skip_mlflow or "mlflow" not in chosen
    if repeat < 1 or duration < 1:
        parser.error("--repeat and --duration must be at least 1")
    if not sys.platform.startswith("linux"):
        sys.exit("error: this benchmark reads /proc for memory figures; it runs on Linux only")
    started, wall0 = dt.datetime.now(dt.UTC), time.perf_counter()
    load_before = os.getloadavg()

    taskset = shutil.which("taskset") if (os.cpu_count() or 1) >= 2 else None
    loadgen = resolve_loadgen(taskset)
    import fastapi
    import numpy
    import sklearn
    import uvicorn

    versions: dict[str, Any] = {
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "numpy": numpy.__version__,
        "fastapi": fastapi.__version__,
        "uvicorn": uvicorn.__version__,
        "loadgen": loadgen.version,
    }
    unavailable: dict[str, str] = {}
    notes: list[str] = []
    if loadgen.note:
        notes.append(loadgen.note)

    with tempfile.TemporaryDirectory(prefix="shipyard-bench-serving-") as tmp_name:
        tmp = Path(tmp_name)
        log(f"fitting the model ({N_TRAIN:,} rows x {N_FEATURES} features) ...")
        model = build_model(tmp)
        (tmp / "body-rows.json").write_bytes(body("rows", model["row"]))
        (tmp / "body-mlflow.json").write_bytes(body("mlflow", model["row"]))
        log(f"batch floor: model.predict on {BATCH_ROWS:,} rows in-process ...")
        batch = batch_floor(model["model"], repeat)
        log("model footprint: bare interpreters with and without the model ...")
        footprint = model_footprint(model["pickled"])

        servers = [s for s in floor_servers(model, tmp) if not chosen or s.name in chosen]
        reason = "skipped (--skip-shipyard)" if args.skip_shipyard else shipyard_unavailable()
        if reason is None:
            try:
                ours, versions["shipyard"] = shipyard_server(
                    model, tmp, args.shipyard_path, shlex.split(args.shipyard_args)
                )
                servers.insert(0, ours)
            except Exception as exc:
                reason = f"registering the model failed: {short(exc)}"
        if reason is not None:
            unavailable["shipyard"] = reason
            log(f"shipyard: unavailable ({reason})")
        if args.skip_bentoml:
            unavailable["bentoml"] = "skipped (--skip-bentoml)"
        else:
            try:
                venv = bentoml_venv(sys.executable, model["sklearn"])
                versions["bentoml"] = module_version(venv, "bentoml")
                servers += bentoml_servers(model, tmp, venv)
            except Exception as exc:
                unavailable["bentoml"] = f"cannot install or start BentoML: {short(exc)}"
                log(f"bentoml: unavailable ({unavailable['bentoml']})")
        mlflow_info: dict[str, Any] = {}
        if args.skip_mlflow:
            unavailable["mlflow"] = "skipped (--skip-mlflow)"
        else:
            try:
                log("mlflow: saving the model with mlflow.sklearn.save_model ...")
                venv = mlflow_venv(sys.executable)
                peer, mlflow_info["mlflow"] = mlflow_server(model, tmp, venv, "mlflow", "mlflow")
                versions.update(mlflow=mlflow_info["mlflow"]["mlflow"], mlflow_sklearn=mlflow_info["mlflow"]["sklearn"])
                servers.append(peer)
                venv = mlflow_uvloop_venv(sys.executable, versions["mlflow"])
                peer, mlflow_info["mlflow-uvloop"] = mlflow_server(model, tmp, venv, "mlflow-uvloop", "mlflow uvloop")
                servers.append(peer)
            except Exception as exc:
                unavailable["mlflow"] = short(exc)
                log(f"mlflow: unavailable ({unavailable['mlflow']})")

        if taskset:
            os.sched_setaffinity(0, {LOADGEN_CPU})  # this process too stays off the server's core
        for i in range(repeat):
            log(f"repeat {i + 1}/{repeat}: {', '.join(s.label for s in servers if s.unavailable is None)}")
            for server in servers:
                if server.unavailable is not None:
                    continue
                attempt(server, loadgen, levels, duration, warmup, tmp, unavailable)
        # Shipyard and the ASGI floor again, back to back at the high levels only: more pairs for their ratio.
        paired = [s for s in servers if s.name in ("shipyard", "floor-asgi") and s.unavailable is None]
        high = tuple(level for level in levels if level in HIGH_LEVELS)
        pairs_run = floor_pairs if len(paired) == 2 and high else 0
        for i in range(pairs_run):
            log(f"floor pair {i + 1}/{floor_pairs}: shipyard and floor: ASGI at c={', '.join(map(str, high))}")
            for server in paired:
                attempt(server, loadgen, high, duration, warmup, tmp, unavailable)
        if taskset:
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))

    figures = {s.name: summarize(s) for s in servers if s.levels}
    memory = {
        s.name: {
            "process_peak_bytes": max(m["process_peak_bytes"] for m in s.memory),
            "tree_peak_bytes": max(m["tree_peak_bytes"] for m in s.memory),
            "processes": max(m["processes"] for m in s.memory),
            "process": max(s.memory, key=lambda m: m["process_peak_bytes"])["process"],
        }
        for s in servers
        if s.memory and s.levels
    }
    checks = evaluate(figures, memory, footprint)
    wall = time.perf_counter() - wall0
    load_after = os.getloadavg()

    # --- print -----------------------------------------------------------------------------------------
    labels = {s.name: s.label for s in servers}
    print(
        f"Shipyard serving benchmark, {started:%Y-%m-%d %H:%M} UTC, median of {repeat} run{'s' if repeat > 1 else ''}"
        f" of {duration} s per level\n"
        f"Python {versions['python']}, scikit-learn {versions['sklearn']}, FastAPI {versions['fastapi']}, uvicorn "
        f"{versions['uvicorn']}; Shipyard {versions.get('shipyard', 'not run')}; "
        f"{'MLflow ' + versions['mlflow'] if 'mlflow' in versions else 'MLflow not run'}; "
        f"{'BentoML ' + str(versions['bentoml']) if 'bentoml' in versions else 'BentoML not run'}; "
        f"load: {loadgen.version}; "
        f"{platform.platform()}, {os.cpu_count()} CPUs\n"
    )
    lines = []
    for name, per_level in figures.items():
        for level in levels:
            fig = per_level.get(level)
            if fig is None:
                continue
            errs = str(fig["errors"]) if not fig["errors"] else f"{fig['errors']} INVALID"
            keys = ("p50_us", "p99_us", "max_us", "p99_corrected_us")
            runs = str(len(fig["samples"]))
            lines.append((labels[name], str(level), f"{fig['rps']:,.0f}", *(fmt_ms(fig[k]) for k in keys), runs, errs))
    header = ("server", "concurrency", "req/s", "p50", "p99", "max", "p99 corrected", "runs", "errors")
    print(table(lines, header))
    for name, reason in unavailable.items():
        print(f"{name}: unavailable ({reason})")
    print(
        f"batch floor: model.predict on {BATCH_ROWS:,} rows (a DataFrame) in-process: "
        f"{batch['rows_per_s'] / 1e6:,.1f} million rows/s ({fmt_ms(statistics.median(batch['seconds']) * 1e6)} a call)"
    )

    ours = figures.get("shipyard", {})
    bento = better_bentoml(figures)
    ratio_lines = []
    for level in levels:
        cells = [str(level)]
        for side in (
            bento,
            *(figures.get(n, {}) for n in ("mlflow-uvloop", "mlflow", "floor-constant", "floor-predict")),
        ):
            cells.append(times(ratio(ours.get(level, {}).get("rps"), side.get(level, {}).get("rps"))))
        of_floor = ratio(ours.get(level, {}).get("rps"), figures.get("floor-asgi", {}).get(level, {}).get("rps"))
        paired = paired_ratios(
            next((s for s in servers if s.name == "shipyard"), None),
            next((s for s in servers if s.name == "floor-asgi"), None),
            level,
        )
        cells.append(
            "-"
            if of_floor is None
            else f"{of_floor:.0%}" + (f" ({min(paired):.0%}-{max(paired):.0%})" if len(paired) > 1 else "")
        )
        cells.append(
            times(
                ratio(ours.get(level, {}).get("p50_us"), figures.get("floor-predict", {}).get(level, {}).get("p50_us"))
            )
        )
        ratio_lines.append(tuple(cells))
    print()
    print(
        table(
            ratio_lines,
            (
                "concurrency",
                "/bentoml (better)",
                "/mlflow uvloop",
                "/mlflow",
                "/FastAPI constant",
                "/predict floor",
                "of ASGI floor (run by run)",
                "p50 / predict floor's",
            ),
        )
    )
    print()
    target_lines = [
        (
            c["target"],
            c["figure"],
            "INVALID (errors in a level)" if c["invalid"] else verdict(c["met"]),
        )
        for c in checks
    ]
    print(table(target_lines, ("target (Shipyard)", "figure", "verdict")))
    print()
    print(
        "memory (peak RSS, the biggest process of each server's process tree; tree total in brackets): "
        + "; ".join(
            f"{labels[name]} {fmt_mb(m['process_peak_bytes'])}"
            + (f" ({fmt_mb(m['tree_peak_bytes'])} in {m['processes']} processes)" if m["processes"] > 1 else "")
            for name, m in memory.items()
        )
    )
    print(
        f"model footprint: a bare Python {fmt_mb(footprint['bare_rss_bytes'])}; after `import sklearn` "
        f"{fmt_mb(footprint['sklearn_rss_bytes'])} (it imports scipy, pandas and pyarrow); plus unpickling the model "
        f"and one predict {fmt_mb(footprint['model_rss_bytes'])} = the model's footprint (what a process needs to "
        f"hold it and predict); limit = 2 x that + {TARGET_MEMORY_EXTRA_MB:g} MB = {fmt_mb(footprint['limit_bytes'])}. "
        f"The fitted object alone adds {fmt_mb(footprint['model_delta_bytes'])} to an interpreter that has imported "
        f"scikit-learn; a limit on that ({fmt_mb(2 * footprint['model_delta_bytes'] + TARGET_MEMORY_EXTRA_MB * 2**20)})"
        " would sit below `import sklearn` itself"
    )
    predict_floor_peak = memory.get("floor-predict", {}).get("process_peak_bytes")
    ours_peak = memory.get("shipyard", {}).get("process_peak_bytes")
    if predict_floor_peak and ours_peak:
        print(
            f"Shipyard's server over the bare predict floor (FastAPI + the pickled model): "
            f"{fmt_mb(ours_peak - predict_floor_peak)} ({fmt_mb(ours_peak)} vs {fmt_mb(predict_floor_peak)})"
        )
    print()
    notes += [
        f"each level: {duration} s of wrk -t<concurrency> -c<concurrency> (one keep-alive connection per concurrent "
        "request, each on its own wrk thread so the Lua script can time every request itself; closed loop), after a "
        f"{warmup} s warm-up at concurrency 8 per server start; every figure (max: the median of the runs' maxima) is "
        f"the median of {repeat} server start(s), the servers taking turns in each repeat"
        + (f", plus {pairs_run} back-to-back runs of Shipyard and the ASGI floor at c=32/64" if pairs_run else "")
        + ". p50/p99/max are the requests' own latencies (closed loop); 'p99 corrected' is wrk's coordinated-omission-"
        "corrected p99 (as if requests were sent on a fixed schedule), on which the p99 target is judged"
        if loadgen.kind == "wrk"
        else f"each level: {duration} s of the Python load generator, one connection per concurrent request",
        f'single-row requests: Shipyard, BentoML and the floors get {{"rows": [{{f0..f19}}]}}, MLflow '
        f'{{"dataframe_records": [{{f0..f19}}]}} ({len(body("rows", model["row"]))} / '
        f"{len(body('mlflow', model['row']))} bytes); each server's first answer is checked (200, the right class)",
        "floors, one worker each, uvicorn + uvloop + httptools, access log off: ASGI (bench/_serving_asgi_floor.py): a "
        "bare ASGI app that orjson-parses the body and sends a constant, the throughput floor; FastAPI constant "
        "(bench/_serving_floor.py, a reference): a FastAPI route that reads the body, returns a constant; predict: "
        "FastAPI, orjson-parses the row, model.predict on a 1 x 20 float64 numpy array (columns in the fitted "
        "order), orjson response",
        'validation (each server\'s answers to the row altered one way at a time: f0 as the string "0.5", f0 as '
        "true, an extra field, f19 missing): " + "; ".join(f"{s.label}: {answers(s)}" for s in servers if s.validation),
        "errors: non-2xx responses (counted by the wrk script's response()) plus socket errors and timeouts "
        f"(> {WRK_TIMEOUT}); a level with any error is INVALID and so is every target that uses it",
    ]
    if taskset:
        notes.append(
            f"pinned with taskset: every server (and its children) on CPU {SERVER_CPU}, the load generator (all its "
            f"threads) and this script on CPU {LOADGEN_CPU}"
        )
    else:
        notes.append("not pinned (no taskset, or a single CPU): the load generator competes with the server")
    for name, info in mlflow_info.items():
        packages = info["server_packages"]
        fast = "+".join(m for m in ("uvloop", "httptools") if packages.get(m))
        http_stack = fast or "asyncio + h11 (`pip install mlflow` brings neither uvloop nor httptools)"
        notes.append(
            f"{name}: {info['venv']}, `mlflow models serve --env-manager local --workers 1` = uvicorn "
            f"{packages.get('uvicorn')} with {http_stack}; model: {info['model']} (largest coefficient "
            f"difference {info['max_coef_difference']:.1e}), saved with mlflow.sklearn.save_model with an "
            "input example (MLflow enforces the inferred schema)"
        )
    if "bentoml" in versions:
        notes.append(
            f"bentoml: bench/.venv-bentoml, BentoML {versions['bentoml']} + uvloop + httptools (its uvicorn picks "
            "them; `pip install bentoml` brings neither), `bentoml serve _serving_bentoml:Plain|Batched`, one worker, "
            "access log off, the same pickled model; input: a pydantic model of 20 float fields (BentoML's "
            "documented way), so its only validation is pydantic's lax defaults; batching: batchable=True, "
            "max_batch_size=256, max_latency_ms=10000; 'better variant' = the one with more req/s at that level"
        )
    if "shipyard" in labels:
        ship = next(s for s in servers if s.name == "shipyard")
        given = f"`shipyard serve ... {args.shipyard_args}`" if args.shipyard_args else "`shipyard serve` defaults"
        notes.append(
            f"shipyard: {given}, from {SRC}; POST {ship.predict_path}; first answer {ship.preflight[:120]}"
            + (f"; failed starts (retried): {'; '.join(ship.failures)}" if ship.failures else "")
        )
    busy = " (the machine was busy when the run began: the figures move with it)" if load_before[0] > 0.5 else ""
    notes.append(f"1-minute load average before / after the run: {load_before[0]:.2f} / {load_after[0]:.2f}{busy}")
    for note in notes:
        print(f"- {note}")
    print(f"- wall time of this benchmark: {wall:.0f} s")

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"serving-{started:%Y%m%dT%H%M%SZ}.json"
    report = {
        "started": started.isoformat(),
        "args": {"repeat": repeat, "quick": args.quick, "duration_s": duration, "levels": list(levels)},
        "versions": versions,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_before_after": [load_before, load_after],
        },
        "loadgen": {"kind": loadgen.kind, "version": loadgen.version, "pinned": bool(taskset)},
        "servers": {
            s.name: {
                "command": s.command,
                "predict_path": s.predict_path,
                "startup_s": s.startup_s,
                "levels": {str(level): fig for level, fig in figures.get(s.name, {}).items()},
                "memory": s.memory,
                "unavailable": s.unavailable,
                "failed_starts": s.failures,
            }
            for s in servers
        },
        "batch_floor": batch,
        "footprint": footprint,
        "targets": checks,
        "headlines": headlines(figures, {s.name: s for s in servers}),
        "validation": {s.name: s.validation for s in servers if s.validation},
        "mlflow": mlflow_info,
        "unavailable": unavailable,
        "notes": notes,
        "wall_time_s": wall,
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"- figures written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
