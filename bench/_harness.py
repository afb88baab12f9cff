"""What every side of the tracking benchmark shares: the operations, their data and the timing helpers.

Standard library only: this module is imported both by ``bench/tracking.py`` (the project's venv) and by
``bench/_mlflow_workload.py`` (run with ``bench/.venv-mlflow``'s python, which has no Shipyard installed).
"""

from __future__ import annotations

import gc
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# --- sizes ---------------------------------------------------------------------------------------------
N_POINTS = 10_000  # ops 1, 2 and 6: points of one metric in one run
N_PARAMS = 200  # op 3
N_RUNS_CREATE = 1_000  # op 4
N_RUNS_SEARCH = 10_000  # op 5
MLFLOW_BATCH_CAP = 1_000  # MLflow rejects a log_batch with more than 1,000 metrics
SEARCH_CALLS = 20  # op 5: one measurement is the median of this many search calls
HISTORY_CALLS = 5  # op 6: one measurement is the median of this many reads
SEARCH_FILTER = "metrics.auc > 0.9"
SEARCH_ORDER_BY = ["metrics.auc DESC"]
SEARCH_MAX_RESULTS = 100


@dataclass(frozen=True)
class Operation:
    key: str
    label: str
    target: str  # what "met" means, in words; evaluated by tracking.py


OPERATIONS = [
    Operation("log_metric", f"1. log_metric x{N_POINTS:,} (+ flush)", "<=5x floor"),
    Operation("log_batch", f"2. log_batch of {N_POINTS:,} points", "<=3x floor"),
    Operation("log_params", f"3. log_params, {N_PARAMS} params", "-"),
    Operation("create_runs", f"4. create {N_RUNS_CREATE:,} runs", ">=20x faster than MLflow"),
    Operation("search_runs", f"5. search_runs over {N_RUNS_SEARCH:,} runs", "<20 ms and >=10x faster than MLflow"),
    Operation("metric_history", f"6. get_metric_history, {N_POINTS:,} pts", "<=3x floor"),
]


# --- the data every system writes (deterministic, so the three sides hold the same rows) ---------------
def loss_points(n: int = N_POINTS) -> list[tuple[float, int]]:
    """``(value, step)`` for steps 0..n-1 of a decaying, slightly noisy loss curve."""
    rng = random.Random(1)
    return [(1.0 / (1.0 + 0.001 * step) + 0.01 * rng.random(), step) for step in range(n)]


def bench_params(n: int = N_PARAMS) -> dict[str, str]:
    return {f"param_{i:03d}": f"value-{i}" for i in range(n)}


def auc_values(n: int = N_RUNS_SEARCH) -> list[float]:
    """The ``auc`` of search run ``i``: pseudo-random in [0, 1), about 10% of them above 0.9."""
    rng = random.Random(42)
    return [rng.random() for _ in range(n)]


def penalty(i: int) -> str:
    return "l1" if i % 2 else "l2"


def run_name(i: int) -> str:
    return f"r{i}"


def expected_top_names() -> list[str]:
    """The names of the runs ``search_runs`` must return, best first (used to check every side's answer)."""
    ranked = sorted(((auc, i) for i, auc in enumerate(auc_values()) if auc > 0.9), reverse=True)
    return [run_name(i) for _, i in ranked[:SEARCH_MAX_RESULTS]]


# --- timing --------------------------------------------------------------------------------------------
@contextmanager
def fresh_dir(prefix: str = "shipyard-bench-") -> Iterator[Path]:
    """A new, empty temporary directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


def median_of_calls(fn: Callable[[], object], calls: int) -> float:
    """Seconds: the median over ``calls`` timed calls of ``fn`` (for reads, which are too quick to time once)."""
    samples = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def repeat(measure: Callable[[Path], float], times: int, progress: Callable[[str], None] | None = None) -> list[float]:
    """Call ``measure(tmp_dir)`` ``times`` times, each with a fresh temporary directory; return the seconds."""
    samples = []
    for i in range(times):
        gc.collect()
        with fresh_dir() as tmp:
            samples.append(measure(tmp))
        if progress is not None:
            progress(f"{i + 1}/{times}: {format_seconds(samples[-1])}")
    return samples


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} us"
