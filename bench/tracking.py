"""Tracking benchmark: Shipyard beside MLflow and beside the floor (raw ``sqlite3``), in one run.

    .venv/bin/python bench/tracking.py [--repeat N] [--quick]        (``make bench``)

Prints one table (median seconds per operation, ratios, targets met/missed) and writes the figures and the
headlines (``bench/_headlines.py``) to ``bench/results/tracking-<timestamp>.json``. MLflow runs in its own
virtualenv, ``bench/.venv-mlflow``, created with ``pip install mlflow`` on first use. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import _harness as h
from _headlines import headline

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
MLFLOW_VENV = BENCH / ".venv-mlflow"
MLFLOW_STAMP = MLFLOW_VENV / ".installed-stamp"
# The floor uses the durability Shipyard's embedded store uses: WAL, synchronous=NORMAL (survives kill -9).
FLOOR_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL")
SYNCHRONOUS_LEVELS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the floor: raw sqlite3, the same rows, one transaction ---------------------------------------------
FLOOR_SCHEMA = """
CREATE TABLE runs (id TEXT PRIMARY KEY, project TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
                   start_time INTEGER NOT NULL, end_time INTEGER);
CREATE INDEX runs_by_project ON runs (project, start_time);
CREATE TABLE params (run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_id, key));
CREATE TABLE metrics (run_id TEXT NOT NULL, key TEXT NOT NULL, value REAL NOT NULL, step INTEGER NOT NULL,
                      timestamp INTEGER NOT NULL);
CREATE INDEX metrics_by_run_key_step ON metrics (run_id, key, step);
CREATE TABLE latest_metrics (run_id TEXT NOT NULL, key TEXT NOT NULL, value REAL NOT NULL, step INTEGER NOT NULL,
                             timestamp INTEGER NOT NULL, PRIMARY KEY (run_id, key));
CREATE INDEX latest_metrics_by_key_value ON latest_metrics (key, value);
"""


def floor_db(tmp: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp / "floor.db", isolation_level=None)  # we issue BEGIN/COMMIT ourselves
    for pragma in FLOOR_PRAGMAS:
        conn.execute(f"PRAGMA {pragma}")
    conn.executescript(FLOOR_SCHEMA)
    return conn


def read_settings(execute: Any) -> dict[str, str]:
    """The journal mode and ``synchronous`` level a connection really runs with (read back, not assumed)."""
    journal = execute("PRAGMA journal_mode")
    sync = execute("PRAGMA synchronous")
    return {"journal_mode": str(journal).upper(), "synchronous": SYNCHRONOUS_LEVELS.get(sync, str(sync))}


def floor_settings() -> dict[str, str]:
    with h.fresh_dir() as tmp:
        conn = floor_db(tmp)
        settings = read_settings(lambda sql: conn.execute(sql).fetchone()[0])
        conn.close()
    return settings


def now_ms() -> int:
    return int(time.time() * 1000)


def floor_insert_points(tmp: Path) -> float:
    """Ops 1 and 2: 10,000 metric rows in one transaction."""
    conn = floor_db(tmp)
    run_id, points = uuid.uuid4().hex, h.loss_points()
    t0 = time.perf_counter()
    ts = now_ms()
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", ((run_id, "loss", value, step, ts) for value, step in points)
    )
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def floor_log_params(tmp: Path) -> float:
    conn = floor_db(tmp)
    run_id, params = uuid.uuid4().hex, h.bench_params()
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO params VALUES (?, ?, ?)", ((run_id, k, v) for k, v in params.items()))
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def floor_create_runs(tmp: Path) -> float:
    conn = floor_db(tmp)
    t0 = time.perf_counter()
    ts = now_ms()
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)",
        ((uuid.uuid4().hex, "bench", h.run_name(i), "finished", ts, ts) for i in range(h.N_RUNS_CREATE)),
    )
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


FLOOR_SEARCH = """
SELECT r.id, r.name, r.status, r.start_time, r.end_time, m.value
FROM latest_metrics AS m JOIN runs AS r ON r.id = m.run_id
WHERE m.key = 'auc' AND m.value > 0.9 AND r.project = 'bench'
ORDER BY m.value DESC LIMIT 100
"""


def floor_search(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """The page of runs, then their params and latest metrics (what a search result carries)."""
    page = conn.execute(FLOOR_SEARCH).fetchall()
    ids = [row[0] for row in page]
    marks = ", ".join("?" * len(ids))
    conn.execute(f"SELECT run_id, key, value FROM params WHERE run_id IN ({marks})", ids).fetchall()
    conn.execute(f"SELECT run_id, key, value FROM latest_metrics WHERE run_id IN ({marks})", ids).fetchall()
    return page


def floor_populate_search(tmp: Path) -> sqlite3.Connection:
    conn = floor_db(tmp)
    ts, ids = now_ms(), [uuid.uuid4().hex for _ in range(h.N_RUNS_SEARCH)]
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)",
        ((run_id, "bench", h.run_name(i), "finished", ts, ts) for i, run_id in enumerate(ids)),
    )
    conn.executemany("INSERT INTO params VALUES (?, ?, ?)", ((r, "penalty", h.penalty(i)) for i, r in enumerate(ids)))
    conn.executemany(
        "INSERT INTO latest_metrics VALUES (?, ?, ?, ?, ?)",
        ((run_id, "auc", auc, 0, ts) for run_id, auc in zip(ids, h.auc_values(), strict=True)),
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    return conn


def floor_metric_history(tmp: Path) -> float:
    conn = floor_db(tmp)
    run_id, ts = uuid.uuid4().hex, now_ms()
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", ((run_id, "loss", v, s, ts) for v, s in h.loss_points())
    )
    conn.execute("COMMIT")
    sql = "SELECT key, value, step, timestamp FROM metrics WHERE run_id = ? AND key = ? ORDER BY step"
    assert len(conn.execute(sql, (run_id, "loss")).fetchall()) == h.N_POINTS
    elapsed = h.median_of_calls(lambda: conn.execute(sql, (run_id, "loss")).fetchall(), h.HISTORY_CALLS)
    conn.close()
    return elapsed


# --- Shipyard: the public API, a fresh store in a fresh temporary directory per measurement -------------
def import_shipyard() -> Any:
    sys.path.insert(0, str(REPO / "src"))  # benchmark this checkout, installed or not
    try:
        import shipyard as sy

        sy.Client  # noqa: B018  (the tracking API must exist, not just the package)
    except Exception as exc:  # any failure here means there is nothing to measure
        sys.exit(
            f"error: cannot use Shipyard ({type(exc).__name__}: {exc}).\n"
            "Run `make setup` (or `pip install -e .`) from the repository root, or pass --skip-shipyard to "
            "measure only MLflow and the floor."
        )
    return sy


class ShipyardWorkload:
    def __init__(self, sy: Any) -> None:
        self.sy = sy

    def client(self, tmp: Path) -> Any:
        # Environment capture stays on, as users get it: it is done once per process, not per run.
        return self.sy.Client(uri=str(tmp / ".shipyard"))

    def log_metric(self, tmp: Path) -> float:
        client, points = self.client(tmp), h.loss_points()
        try:
            with client.start_run(project="bench", name="log-metric") as run:
                t0 = time.perf_counter()
                for value, step in points:
                    run.log_metric("loss", value, step=step)
                run.flush()
                elapsed = time.perf_counter() - t0
            assert len(client.get_metric_history(run.id, "loss")) == h.N_POINTS
        finally:
            client.close()
        return elapsed

    def log_batch(self, tmp: Path) -> float:
        client = self.client(tmp)
        metrics = [("loss", value, step) for value, step in h.loss_points()]
        try:
            with client.start_run(project="bench", name="log-batch") as run:
                t0 = time.perf_counter()
                run.log_batch(metrics=metrics)
                run.flush()  # log_batch writes at once; flush is a no-op kept for symmetry with op 1
                elapsed = time.perf_counter() - t0
            assert len(client.get_metric_history(run.id, "loss")) == h.N_POINTS
        finally:
            client.close()
        return elapsed

    def log_params(self, tmp: Path) -> float:
        client, params = self.client(tmp), h.bench_params()
        try:
            with client.start_run(project="bench", name="log-params") as run:
                t0 = time.perf_counter()
                run.log_params(params)
                run.flush()
                elapsed = time.perf_counter() - t0
            assert len(client.get_run(run.id).params) == h.N_PARAMS
        finally:
            client.close()
        return elapsed

    def create_runs(self, tmp: Path) -> float:
        client = self.client(tmp)
        try:
            t0 = time.perf_counter()
            for i in range(h.N_RUNS_CREATE):
                with client.start_run(project="bench", name=h.run_name(i)):
                    pass
            elapsed = time.perf_counter() - t0
            assert len(client.search_runs(project="bench", max_results=h.N_RUNS_CREATE)) == h.N_RUNS_CREATE
        finally:
            client.close()
        return elapsed

    def sqlite_settings(self) -> dict[str, str]:
        """What the store's own connections run with (its engine's connect hook applied)."""
        with h.fresh_dir() as tmp:
            client = self.client(tmp)
            try:
                with client.backend.store.engine.connect() as conn:
                    return read_settings(lambda sql: conn.exec_driver_sql(sql).scalar())
            finally:
                client.close()

    def populate_search(self, client: Any) -> None:
        for i, auc in enumerate(h.auc_values()):
            with client.start_run(project="bench", name=h.run_name(i)) as run:
                run.log_metric("auc", auc)
                run.log_param("penalty", h.penalty(i))

    def warm_up(self, tmp: Path) -> float:
        """Pay the process's one-time costs (lazy imports, statement caches) before anything is timed."""
        client = self.client(tmp)
        try:
            with client.start_run(project="bench", name="warm-up") as run:
                run.log_metric("loss", 0.5, step=0)
                run.log_batch(metrics=[("loss", 0.4, 1)])
                run.log_params({"a": "1"})
                run.log_param("penalty", "l1")
                run.flush()
            self.search(client)
            client.get_metric_history(run.id, "loss")
        finally:
            client.close()
        return 0.0

    def search(self, client: Any) -> list[Any]:
        return client.search_runs(
            project="bench", filter=h.SEARCH_FILTER, order_by=h.SEARCH_ORDER_BY, max_results=h.SEARCH_MAX_RESULTS
        )

    def metric_history(self, tmp: Path) -> float:
        client = self.client(tmp)
        try:
            with client.start_run(project="bench", name="history") as run:
                run.log_batch(metrics=[("loss", value, step) for value, step in h.loss_points()])
            assert len(client.get_metric_history(run.id, "loss")) == h.N_POINTS
            return h.median_of_calls(lambda: client.get_metric_history(run.id, "loss"), h.HISTORY_CALLS)
        finally:
            client.close()


# --- running each side ---------------------------------------------------------------------------------
def run_floor(repeat: int, settings: dict[str, dict[str, str]]) -> tuple[dict[str, list[float]], list[str]]:
    log("floor (raw sqlite3) ...")
    settings["floor"] = floor_settings()
    h.repeat(floor_metric_history, 1)  # warm-up, discarded
    points = h.repeat(floor_insert_points, repeat)
    results = {
        "log_metric": points,
        "log_batch": points,  # the same 10,000 rows in one transaction
        "log_params": h.repeat(floor_log_params, repeat),
        "create_runs": h.repeat(floor_create_runs, repeat),
        "metric_history": h.repeat(floor_metric_history, repeat),
    }
    with h.fresh_dir() as tmp:
        conn = floor_populate_search(tmp)
        names = [row[1] for row in floor_search(conn)]
        results["search_runs"] = [h.median_of_calls(lambda: floor_search(conn), h.SEARCH_CALLS) for _ in range(repeat)]
        conn.close()
    return results, names


def run_shipyard(
    repeat: int, setup: dict[str, float], settings: dict[str, dict[str, str]]
) -> tuple[dict[str, list[float]], list[str]]:
    work = ShipyardWorkload(import_shipyard())
    h.repeat(work.warm_up, 1)  # discarded
    settings["shipyard"] = work.sqlite_settings()
    results: dict[str, list[float]] = {}
    for key in ("log_metric", "log_batch", "log_params", "create_runs"):
        log(f"shipyard: {key} ...")
        results[key] = h.repeat(getattr(work, key), repeat, progress=lambda m: log(f"  shipyard: {m}"))

    log(f"shipyard: search_runs: creating {h.N_RUNS_SEARCH:,} runs through the API (untimed setup) ...")
    with h.fresh_dir() as tmp:
        client = work.client(tmp)
        try:
            t0 = time.perf_counter()
            work.populate_search(client)
            setup["shipyard_search_populate_s"] = time.perf_counter() - t0
            log(f"  shipyard: setup took {h.format_seconds(setup['shipyard_search_populate_s'])}")
            names = [run.name for run in work.search(client)]
            results["search_runs"] = []
            for i in range(repeat):  # read-only, so the repeats share the populated store
                results["search_runs"].append(h.median_of_calls(lambda: work.search(client), h.SEARCH_CALLS))
                log(f"  shipyard: {i + 1}/{repeat}: {h.format_seconds(results['search_runs'][-1])}")
        finally:
            client.close()

    log("shipyard: metric_history ...")
    results["metric_history"] = h.repeat(work.metric_history, repeat, progress=lambda m: log(f"  shipyard: {m}"))
    return results, names


def mlflow_python() -> Path:
    """bench/.venv-mlflow's python; the virtualenv is created and MLflow installed on first use."""
    python = MLFLOW_VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if MLFLOW_STAMP.exists() and python.exists():
        return python
    log(f"Installing MLflow into {MLFLOW_VENV.relative_to(REPO)} (first run only; takes a few minutes) ...")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(MLFLOW_VENV)], check=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "mlflow"], check=True)
    version = subprocess.run(
        [python, "-c", "import mlflow; print(mlflow.__version__)"], check=True, capture_output=True, text=True
    ).stdout.strip()
    MLFLOW_STAMP.write_text(f"mlflow=={version}\n")
    return python


def run_mlflow(repeat: int, skip: list[str]) -> dict[str, Any]:
    python = mlflow_python()
    log(f"mlflow: running bench/_mlflow_workload.py with {python.relative_to(REPO)} ...")
    command = [str(python), str(BENCH / "_mlflow_workload.py"), "--repeat", str(repeat)]
    command += [arg for key in skip for arg in ("--skip", key)]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MLFLOW_TRACKING_URI")}
    with h.fresh_dir("mlflow-cwd-") as cwd:  # MLflow may create ./mlruns; keep it out of the repository
        done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"error: the MLflow workload failed (exit code {done.returncode}); its output is above.")
    return json.loads(done.stdout)


# --- report --------------------------------------------------------------------------------------------
MLFLOW_VARIANTS = {"mlflow": "sync", "mlflow_async": "async"}  # op 1 is measured both ways on MLflow


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def target_met(key: str, ours: float | None, mlflow: float | None, floor: float | None) -> bool | None:
    """None when a figure the target needs is missing."""
    vs_floor, vs_mlflow = ratio(ours, floor), ratio(mlflow, ours)
    if key == "log_metric":
        return None if vs_floor is None else vs_floor <= 5
    if key in ("log_batch", "metric_history"):
        return None if vs_floor is None else vs_floor <= 3
    if key == "create_runs":
        return None if vs_mlflow is None else vs_mlflow >= 20
    if key == "search_runs":
        return None if ours is None or vs_mlflow is None else ours < 0.020 and vs_mlflow >= 10
    return None


def build_rows(samples: dict[str, dict[str, list[float]]]) -> list[dict[str, Any]]:
    def fig(system: str, key: str) -> dict[str, Any] | None:
        values = samples.get(system, {}).get(key)
        return {"median_s": statistics.median(values), "samples_s": values} if values else None

    rows = []
    for op in h.OPERATIONS:
        figures = {system: fig(system, op.key) for system in ("shipyard", "mlflow", "floor")}
        figures["mlflow_async"] = fig("mlflow", f"{op.key}_async")  # only op 1 has one
        med = {system: (f or {}).get("median_s") for system, f in figures.items()}
        variants = {MLFLOW_VARIANTS[k]: med[k] for k in MLFLOW_VARIANTS if med[k] is not None}
        best = min(variants, key=variants.__getitem__) if variants else None
        mlflow = variants.get(best) if best else None
        rows.append(
            {
                "key": op.key,
                "operation": op.label,
                **figures,
                "mlflow_best": best,  # the MLflow variant the ratio and the target use (the faster one)
                "shipyard_over_floor": ratio(med["shipyard"], med["floor"]),
                "mlflow_over_shipyard": ratio(mlflow, med["shipyard"]),
                "target": op.target,
                "target_met": target_met(op.key, med["shipyard"], mlflow, med["floor"]),
            }
        )
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    def seconds(fig: dict[str, Any] | None) -> str:
        return h.format_seconds(fig["median_s"]) if fig else "-"

    def times(x: float | None) -> str:
        return "-" if x is None else f"{x:,.1f}x" if x < 100 else f"{x:,.0f}x"

    def vs_mlflow(row: dict[str, Any]) -> str:
        both = row["mlflow"] is not None and row["mlflow_async"] is not None
        return times(row["mlflow_over_shipyard"]) + (f" ({row['mlflow_best']})" if both else "")

    def verdict(row: dict[str, Any]) -> str:
        if row["target"] == "-":
            return "-"
        status = {True: "met", False: "MISSED", None: "n/a"}[row["target_met"]]
        return f"{row['target']}: {status}"

    header = ("operation", "shipyard", "mlflow", "mlflow async", "floor", "shipyard/floor", "mlflow/shipyard", "target")
    body = [
        (
            row["operation"],
            seconds(row["shipyard"]),
            seconds(row["mlflow"]),
            seconds(row["mlflow_async"]),
            seconds(row["floor"]),
            times(row["shipyard_over_floor"]),
            vs_mlflow(row),
            verdict(row),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def fmt(line: tuple[str, ...]) -> str:
        cells = [line[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(line[1:-1], widths[1:-1], strict=True)]
        return " | ".join([*cells, line[-1].ljust(widths[-1])]).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([fmt(header), rule, *(fmt(line) for line in body)])


def describe(settings: dict[str, str] | None) -> str:
    return f"journal_mode={settings['journal_mode']}, synchronous={settings['synchronous']}" if settings else "not run"


# What each headline holds equal on every side, and what differs beyond the SQLite settings.
SAME_WORK = {
    "log_metric": (
        f"{h.N_POINTS:,} points of one metric in one run (steps 0..{h.N_POINTS - 1}), one call per point, all "
        "stored durably when the timer stops: Shipyard `run.log_metric` x10,000 + `run.flush()`; MLflow the faster "
        "of `mlflow.log_metric` x10,000 (sync: each call a commit) and `log_metric(..., synchronous=False)` "
        "x10,000 + `mlflow.flush_async_logging()` (async)",
        "",
    ),
    "log_batch": (
        f"the same {h.N_POINTS:,} points as one batch, stored when the timer stops",
        f"MLflow caps a batch at {h.MLFLOW_BATCH_CAP:,} metrics, so its figure is "
        f"{h.N_POINTS // h.MLFLOW_BATCH_CAP} `log_batch` calls",
    ),
    "log_params": (f"{h.N_PARAMS} string params on one run", "`mlflow.log_params` splits them into batches of 100"),
    "create_runs": (
        f"{h.N_RUNS_CREATE:,} runs started and ended one at a time, each with its default context record",
        "MLflow records its context tags per run; Shipyard captures its environment once per process",
    ),
    "search_runs": (
        f"search {h.N_RUNS_SEARCH:,} runs for `metrics.auc > 0.9`, best first, {h.SEARCH_MAX_RESULTS} results "
        f"with their params and metrics (median of {h.SEARCH_CALLS} calls); the same runs, checked, on every side",
        "MLflow's runs are copies of one real run inserted by bulk SQL",
    ),
    "metric_history": (
        f"read one run's {h.N_POINTS:,}-point metric history (median of {h.HISTORY_CALLS} reads)",
        "",
    ),
}


def build_headlines(
    rows: list[dict[str, Any]], settings: dict[str, dict[str, str]], mlflow_version: str | None
) -> list[dict[str, Any]]:
    sqlite = (
        f"SQLite: Shipyard {describe(settings.get('shipyard'))}; MLflow {describe(settings.get('mlflow'))} "
        "(each tool's default)"
    )
    out = []
    for row in rows:
        if row["shipyard"] is None:
            continue
        same_work, differs = SAME_WORK[row["key"]]
        peer, theirs = None, None
        if mlflow_version and row["mlflow_best"]:
            best_key = {v: k for k, v in MLFLOW_VARIANTS.items()}[row["mlflow_best"]]
            theirs = row[best_key]["median_s"] * 1e3
            peer = f"MLflow {mlflow_version}"
            if row["key"] == "log_metric":
                other = row["mlflow_async" if best_key == "mlflow" else "mlflow"]
                rest = f"; {'async' if best_key == 'mlflow' else 'sync'} took {h.format_seconds(other['median_s'])}"
                peer += f" ({row['mlflow_best']}, the faster of sync and async{rest if other else ''})"
        out.append(
            headline(
                f"op {row['operation']}",
                ours=row["shipyard"]["median_s"] * 1e3,
                unit="ms",
                same_work=same_work,
                peer=peer,
                theirs=theirs,
                floor=row["floor"]["median_s"] * 1e3 if row["floor"] else None,
                floor_name="raw sqlite3, one transaction",
                target=row["target"],
                met=row["target_met"] if row["target"] != "-" else None,
                differs="; ".join(filter(None, [differs, sqlite])),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="Shipyard vs MLflow vs raw sqlite3 on tracking operations.")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per figure; the median is shown")
    parser.add_argument("--quick", action="store_true", help="1 repeat, and skip MLflow's op 1 (40-80 s alone)")
    parser.add_argument("--skip-mlflow", action="store_true", help="measure Shipyard and the floor only")
    parser.add_argument("--skip-shipyard", action="store_true", help="measure MLflow and the floor only")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    if repeat < 1:
        parser.error("--repeat must be at least 1")
    started, wall0 = dt.datetime.now(dt.UTC), time.perf_counter()

    samples: dict[str, dict[str, list[float]]] = {}
    setup: dict[str, float] = {}
    names: dict[str, list[str]] = {}
    settings: dict[str, dict[str, str]] = {}
    notes = [
        "op 1: MLflow is measured both ways: sync (`mlflow.log_metric`, each call a committed transaction, its "
        "default) and async (`synchronous=False`, then `mlflow.flush_async_logging()`, the same "
        "buffered-then-durable work as Shipyard's `log_metric` + `flush()`); mlflow/shipyard uses the faster.",
        f"op 2: MLflow caps a batch at {h.MLFLOW_BATCH_CAP:,} metrics, so its figure is "
        f"{h.N_POINTS // h.MLFLOW_BATCH_CAP} log_batch calls of {h.MLFLOW_BATCH_CAP:,}.",
        "op 3: mlflow.log_params splits the 200 params into batches of 100 internally.",
        f"ops 5, 6: one measurement is the median of {h.SEARCH_CALLS} (search) / {h.HISTORY_CALLS} (history) calls.",
        "op 5: MLflow's 10,000 runs are copies of one real run's rows, inserted by bulk SQL.",
    ]
    versions: dict[str, str] = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}

    if not args.skip_shipyard:
        samples["shipyard"], names["shipyard"] = run_shipyard(repeat, setup, settings)
        versions["shipyard"] = getattr(sys.modules["shipyard"], "__version__", "?")
    samples["floor"], names["floor"] = run_floor(repeat, settings)
    if not args.skip_mlflow:
        skip = ["log_metric", "log_metric_async"] if args.quick else []
        if skip:
            notes.append("--quick: MLflow's op 1 (sync and async) was skipped.")
        mlflow = run_mlflow(repeat, skip)
        samples["mlflow"] = mlflow["results"]
        setup["mlflow_search_populate_s"] = mlflow["setup"].get("search_runs_populate_s")
        names["mlflow"] = mlflow["checks"].get("search_runs_names", [])
        versions.update({f"mlflow_{k}" if k != "mlflow" else k: v for k, v in mlflow["versions"].items()})
        settings["mlflow"] = mlflow["sqlite"]
    notes.append(
        "SQLite settings, read back from each side's own connection: "
        + "; ".join(f"{side} {describe(value)}" for side, value in settings.items())
        + " (WAL + NORMAL: committed data survives a killed process; a rollback journal + FULL also survives "
        "power loss and costs an fsync per commit)."
    )

    expected = h.expected_top_names()
    agree = {system: got == expected for system, got in names.items()}
    if "shipyard_search_populate_s" in setup:
        took = setup["shipyard_search_populate_s"]
        slow = " (over the 30 s budget)" if took > 30 else ""
        notes.append(f"op 5 setup: Shipyard created its {h.N_RUNS_SEARCH:,} runs via the API in {took:.1f} s{slow}.")
    rows = build_rows(samples)
    headlines = build_headlines(rows, settings, versions.get("mlflow"))
    wall = time.perf_counter() - wall0

    mlflow_versions = (
        f"MLflow {versions['mlflow']} (Python {versions['mlflow_python']}, SQLite {versions['mlflow_sqlite']})"
        if "mlflow" in versions
        else "MLflow not run"
    )
    print(
        f"Shipyard tracking benchmark, {started:%Y-%m-%d %H:%M} UTC, median of {repeat} "
        f"measurement{'s' if repeat > 1 else ''}\n"
        f"Python {versions['python']}, SQLite {versions['sqlite']}, Shipyard {versions.get('shipyard', 'not run')}; "
        f"{mlflow_versions}; {platform.platform()}, {os.cpu_count()} CPUs\n"
    )
    print(format_table(rows))
    print()
    for note in notes:
        print(f"- {note}")
    bad = [system for system, ok in agree.items() if not ok]
    print(f"- search results: {'DIFFER from expected: ' + ', '.join(bad) if bad else 'the same top 100 on every side'}")
    print(f"- wall time of this benchmark: {wall:.0f} s")

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"tracking-{started:%Y%m%dT%H%M%SZ}.json"
    report = {
        "started": started.isoformat(),
        "args": {"repeat": repeat, "quick": args.quick},
        "versions": versions,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "sqlite_settings": settings,
        "operations": rows,
        "headlines": headlines,
        "setup_s": setup,
        "search_results_agree": agree,
        "notes": notes,
        "wall_time_s": wall,
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"- figures written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
