"""The MLflow client side of ``bench/server.py``, run with ``bench/.venv-mlflow-server``'s python.

    python bench/_server_mlflow.py --url http://127.0.0.1:P --op metrics|runs --n 10000 \
        --sample-s 60 --budget-s 300

Against a running ``mlflow server``: ``metrics`` logs ``--n`` points of one metric in one run with
``mlflow.log_metric`` (synchronous, MLflow's default: each call is one request, committed by the server
before it answers); ``runs`` creates ``--n`` runs with ``with mlflow.start_run(): pass``. Three untimed
warm-up runs first. The calls are timed as they go: once ``--sample-s`` seconds have passed, if the whole
``--n`` would take more than ``--budget-s`` at the rate so far, it stops there and the total is
extrapolated linearly from the calls made (``extrapolated: true``); otherwise it goes on to ``--n``. The
calls made are checked afterwards (the history's length, the number of runs). Prints one JSON document.
Standard library + MLflow only.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ["MLFLOW_ENABLE_ASYNC_LOGGING"] = "false"  # MLflow's default, pinned: each call is synchronous

import mlflow
from mlflow.tracking import MlflowClient


def value(step: int) -> float:
    return 1.0 / (1.0 + 0.001 * step)


def timed_calls(call, n: int, sample_s: float, budget_s: float) -> tuple[int, float, bool]:  # type: ignore[no-untyped-def]
    """``call(i)`` for i in 0..n-1, stopping early when the whole would exceed the budget: (calls, seconds, capped)."""
    t0 = time.perf_counter()
    decided = False
    for i in range(n):
        call(i)
        elapsed = time.perf_counter() - t0
        if not decided and elapsed >= sample_s:
            decided = True
            if elapsed / (i + 1) * n > budget_s:
                return i + 1, elapsed, True
    return n, time.perf_counter() - t0, False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--op", choices=("metrics", "runs"), required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--sample-s", type=float, required=True)
    parser.add_argument("--budget-s", type=float, required=True)
    args = parser.parse_args()
    mlflow.set_tracking_uri(args.url)
    experiment_id = mlflow.set_experiment(f"bench-{args.op}").experiment_id
    for _ in range(3):  # untimed: imports, the HTTP session, each worker's store and caches
        with mlflow.start_run(run_name="warm-up"):
            for step in range(5):
                mlflow.log_metric("loss", value(step), step=step)
    client = MlflowClient()
    if args.op == "metrics":
        with mlflow.start_run(run_name="log-metric") as run:
            done, seconds, capped = timed_calls(
                lambda i: mlflow.log_metric("loss", value(i), step=i), args.n, args.sample_s, args.budget_s
            )
        stored = len(client.get_metric_history(run.info.run_id, "loss"))
    else:

        def create(i: int) -> None:
            with mlflow.start_run(run_name=f"r{i}"):
                pass

        done, seconds, capped = timed_calls(create, args.n, args.sample_s, args.budget_s)
        stored = len(client.search_runs([experiment_id], max_results=args.n + 10)) - 3  # minus the warm-up runs
    if stored != done:
        raise SystemExit(f"MLflow stored {stored} of the {done} {args.op} written")
    total = seconds / done * args.n if capped else seconds
    print(
        json.dumps(
            {
                "op": args.op,
                "n": args.n,
                "done": done,
                "measured_s": seconds,
                "seconds": total,
                "extrapolated": capped,
                "mlflow": mlflow.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
