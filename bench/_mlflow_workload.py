"""The MLflow side of ``bench/tracking.py``. Runs with ``bench/.venv-mlflow``'s python, never the project's.

    bench/.venv-mlflow/bin/python bench/_mlflow_workload.py --repeat 3 [--skip log_metric] [--skip log_metric_async]

Every measurement gets a fresh SQLite database (``sqlite:///<tmp>/mlflow.db``), copied from a template
whose schema MLflow created once (creating the schema takes seconds and is not what is measured).
Progress goes to stderr; stdout carries exactly one JSON object:
``{"versions": {...}, "results": {op: [seconds, ...]}, "setup": {...}, "checks": {...}, "sqlite": {...}}``
(``sqlite``: the journal mode and ``synchronous`` level MLflow's own connections run with).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import sqlite3
import sys
import time
import uuid
from pathlib import Path

import _harness as h

# MLflow's default, pinned so calls are durable; op 1's async variant asks for it per call (synchronous=False).
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import mlflow  # after the environment above: MLflow reads it at import
from mlflow import MlflowClient
from mlflow.entities import Metric

EXPERIMENT = "bench"
TEMPLATE: Path  # set in main(): an empty MLflow database with the "bench" experiment


def log(message: str) -> None:
    print(f"  mlflow: {message}", file=sys.stderr, flush=True)


def quiet_logging() -> None:
    for name in ("alembic", "mlflow", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.WARNING)


def make_template(root: Path) -> Path:
    """Let MLflow create its schema (its Alembic migrations) and the experiment once."""
    path = root / "template.db"
    client = MlflowClient(tracking_uri=f"sqlite:///{path}")
    client.create_experiment(EXPERIMENT, artifact_location=(root / "artifacts").as_uri())
    return path


def fresh_store(tmp: Path) -> tuple[MlflowClient, str]:
    """A new database for one measurement; makes it the fluent API's tracking URI and active experiment."""
    db = tmp / "mlflow.db"
    with sqlite3.connect(TEMPLATE) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    uri = f"sqlite:///{db}"
    mlflow.set_tracking_uri(uri)
    experiment_id = mlflow.set_experiment(EXPERIMENT).experiment_id
    return MlflowClient(tracking_uri=uri), experiment_id


# --- the operations (each returns the seconds of its timed part) -----------------------------------------
def op_log_metric(tmp: Path) -> float:
    client, _ = fresh_store(tmp)
    points = h.loss_points()
    with mlflow.start_run() as run:
        t0 = time.perf_counter()
        for value, step in points:
            mlflow.log_metric("loss", value, step=step)  # synchronous: committed when it returns
        elapsed = time.perf_counter() - t0
    assert len(client.get_metric_history(run.info.run_id, "loss")) == h.N_POINTS
    return elapsed


def op_log_metric_async(tmp: Path) -> float:
    """Op 1 with MLflow's asynchronous logging: calls queue, ``flush_async_logging`` waits until all are stored
    (the same buffered-then-durable work as Shipyard's ``log_metric`` + ``flush()``)."""
    client, _ = fresh_store(tmp)
    points = h.loss_points()
    with mlflow.start_run() as run:
        t0 = time.perf_counter()
        for value, step in points:
            mlflow.log_metric("loss", value, step=step, synchronous=False)
        mlflow.flush_async_logging()
        elapsed = time.perf_counter() - t0
    assert len(client.get_metric_history(run.info.run_id, "loss")) == h.N_POINTS
    return elapsed


def sqlite_settings(tmp: Path) -> dict[str, str]:
    """What MLflow's own connections run with (its engine's connect hooks applied), not what we assume."""
    client, _ = fresh_store(tmp)
    levels = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    with client._tracking_client.store.engine.connect() as conn:  # no public accessor for the engine
        journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    return {"journal_mode": str(journal).upper(), "synchronous": levels.get(sync, str(sync))}


def op_log_batch(tmp: Path) -> float:
    client, _ = fresh_store(tmp)
    now = int(time.time() * 1000)
    metrics = [Metric("loss", value, now, step) for value, step in h.loss_points()]
    chunks = [metrics[i : i + h.MLFLOW_BATCH_CAP] for i in range(0, len(metrics), h.MLFLOW_BATCH_CAP)]
    with mlflow.start_run() as run:
        run_id = run.info.run_id
        t0 = time.perf_counter()
        for chunk in chunks:  # MLflow caps one batch at 1,000 metrics
            client.log_batch(run_id, metrics=chunk)
        elapsed = time.perf_counter() - t0
    assert len(client.get_metric_history(run_id, "loss")) == h.N_POINTS
    return elapsed


def op_log_params(tmp: Path) -> float:
    client, _ = fresh_store(tmp)
    params = h.bench_params()
    with mlflow.start_run() as run:
        t0 = time.perf_counter()
        mlflow.log_params(params)  # splits into batches of 100 internally
        elapsed = time.perf_counter() - t0
    assert len(client.get_run(run.info.run_id).data.params) == h.N_PARAMS
    return elapsed


def op_create_runs(tmp: Path) -> float:
    client, experiment_id = fresh_store(tmp)
    t0 = time.perf_counter()
    for _ in range(h.N_RUNS_CREATE):
        with mlflow.start_run():
            pass
    elapsed = time.perf_counter() - t0
    assert len(client.search_runs([experiment_id], max_results=h.N_RUNS_CREATE + 1)) == h.N_RUNS_CREATE
    return elapsed


def warm_up(tmp: Path) -> float:
    """Pay the process's one-time costs (lazy imports, statement caches) before anything is timed."""
    client, experiment_id = fresh_store(tmp)
    with mlflow.start_run() as run:
        mlflow.log_metric("loss", 0.5, step=0)
        mlflow.log_metric("loss", 0.45, step=2, synchronous=False)  # starts the async logging queue's thread
        mlflow.flush_async_logging()
        client.log_batch(run.info.run_id, metrics=[Metric("loss", 0.4, int(time.time() * 1000), 1)])
        mlflow.log_params({"a": "1"})
        mlflow.log_param("penalty", "l1")
    search(client, experiment_id)
    client.get_metric_history(run.info.run_id, "loss")
    return 0.0


def populate_search_runs(tmp: Path) -> tuple[MlflowClient, str]:
    """10,000 runs with metric ``auc`` and param ``penalty``: one real run through the API, then bulk SQL
    copies of its rows (in ``runs``, ``tags``, ``params``, ``metrics``, ``latest_metrics``) for the rest."""
    client, experiment_id = fresh_store(tmp)
    aucs = h.auc_values()
    with mlflow.start_run(run_name=h.run_name(0)) as run:
        mlflow.log_metric("auc", aucs[0])
        mlflow.log_param("penalty", h.penalty(0))
    real_id = run.info.run_id

    conn = sqlite3.connect(tmp / "mlflow.db")
    conn.row_factory = sqlite3.Row

    def shape(table: str) -> list[dict[str, object]]:
        return [dict(row) for row in conn.execute(f"SELECT * FROM {table} WHERE run_uuid = ?", (real_id,))]

    tables = {table: shape(table) for table in ("runs", "tags", "params", "metrics", "latest_metrics")}
    rng = random.Random(7)
    new_rows: dict[str, list[dict[str, object]]] = {table: [] for table in tables}
    for i in range(1, h.N_RUNS_SEARCH):
        run_id = uuid.UUID(int=rng.getrandbits(128), version=4).hex
        overrides = {"run_uuid": run_id}
        for table, rows in tables.items():
            for row in rows:
                new = {**row, **overrides}
                if table == "runs":
                    new["name"] = h.run_name(i)
                    new["artifact_uri"] = str(row["artifact_uri"]).replace(real_id, run_id)
                    new["start_time"] = int(row["start_time"]) + i
                    new["end_time"] = int(row["end_time"]) + i
                elif table == "tags" and row["key"] == "mlflow.runName":
                    new["value"] = h.run_name(i)
                elif table == "params":
                    new["value"] = h.penalty(i)
                elif table in ("metrics", "latest_metrics"):
                    new["value"] = aucs[i]
                new_rows[table].append(new)
    with conn:
        for table, rows in new_rows.items():
            columns = list(rows[0])
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            conn.executemany(sql, [tuple(row[c] for c in columns) for row in rows])
    conn.close()
    return client, experiment_id


def search(client: MlflowClient, experiment_id: str) -> list[object]:
    return client.search_runs(
        [experiment_id],
        filter_string=h.SEARCH_FILTER,
        order_by=h.SEARCH_ORDER_BY,
        max_results=h.SEARCH_MAX_RESULTS,
    )


def op_metric_history(tmp: Path) -> float:
    client, _ = fresh_store(tmp)
    now = int(time.time() * 1000)
    metrics = [Metric("loss", value, now, step) for value, step in h.loss_points()]
    with mlflow.start_run() as run:
        run_id = run.info.run_id
        for i in range(0, len(metrics), h.MLFLOW_BATCH_CAP):
            client.log_batch(run_id, metrics=metrics[i : i + h.MLFLOW_BATCH_CAP])
    assert len(client.get_metric_history(run_id, "loss")) == h.N_POINTS
    return h.median_of_calls(lambda: client.get_metric_history(run_id, "loss"), h.HISTORY_CALLS)


WRITE_OPS = {
    "log_metric": op_log_metric,
    "log_metric_async": op_log_metric_async,
    "log_batch": op_log_batch,
    "log_params": op_log_params,
    "create_runs": op_create_runs,
}


def main() -> None:
    global TEMPLATE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip", action="append", default=[], help="an operation key to leave out (repeatable)")
    args = parser.parse_args()
    quiet_logging()
    real_stdout, sys.stdout = sys.stdout, sys.stderr  # whatever MLflow prints must not corrupt the JSON

    results: dict[str, list[float]] = {}
    setup: dict[str, float] = {}
    checks: dict[str, object] = {}
    with h.fresh_dir("mlflow-bench-") as root:
        TEMPLATE = make_template(root)
        h.repeat(warm_up, 1)
        with h.fresh_dir("mlflow-bench-") as tmp:
            settings = sqlite_settings(tmp)
        for key, measure in WRITE_OPS.items():
            if key in args.skip:
                continue
            log(f"{key} ...")
            results[key] = h.repeat(measure, args.repeat, progress=log)

        if "search_runs" not in args.skip:
            log(f"search_runs: populating {h.N_RUNS_SEARCH:,} runs by bulk SQL ...")
            with h.fresh_dir("mlflow-bench-") as tmp:
                t0 = time.perf_counter()
                client, experiment_id = populate_search_runs(tmp)
                setup["search_runs_populate_s"] = time.perf_counter() - t0
                runs = search(client, experiment_id)
                checks["search_runs_names"] = [r.info.run_name for r in runs]
                results["search_runs"] = []
                for i in range(args.repeat):  # read-only, so the repeats share the populated database
                    seconds = h.median_of_calls(lambda: search(client, experiment_id), h.SEARCH_CALLS)
                    results["search_runs"].append(seconds)
                    log(f"search_runs {i + 1}/{args.repeat}: {h.format_seconds(seconds)}")

        if "metric_history" not in args.skip:
            log("metric_history ...")
            results["metric_history"] = h.repeat(op_metric_history, args.repeat, progress=log)

    versions = {"mlflow": mlflow.__version__, "python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    report = {"versions": versions, "results": results, "setup": setup, "checks": checks, "sqlite": settings}
    print(json.dumps(report), file=real_stdout)


if __name__ == "__main__":
    main()
