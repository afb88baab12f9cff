"""The Evidently side of the drift benchmark: a ``DataDriftPreset`` report on the benchmark's tables.

    bench/.venv-evidently/bin/python bench/_drift_evidently.py --data DIR --size N --config default|ks-chi2

Run by ``bench/drift.py`` under Evidently's own virtualenv (Evidently 0.7 does not import beside pandas 3),
in a fresh interpreter per size and configuration, so the peak memory it reports is Evidently's alone. It
reads the Parquet files into pandas DataFrames (timed apart, as ``load``), runs one untimed report on
2,000 rows (lazy imports, first-call costs), then times ``--repeat`` reports on the whole tables:

    Report([DataDriftPreset(...)]).run(Dataset.from_pandas(current, dd), Dataset.from_pandas(reference, dd))

with ``dd`` declaring the 20 numeric and 5 categorical columns (so Evidently does not guess a type from
the values). ``default`` is the preset as users get it (at these sizes: normed Wasserstein distance for
numeric columns, Jensen-Shannon distance for categorical ones, threshold 0.1); ``ks-chi2`` sets
``num_method="ks"``, ``cat_method="chisquare"`` (p-value below 0.05). The building of the ``Dataset``
objects is timed with the report: Evidently computes on them every time, it has no stored reference.
Prints JSON lines (see ``_drift_measure``); the last one holds each column's verdict.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path
from typing import Any

import _drift_data as data
import _drift_measure as m

# Evidently's own rules (legacy/calculations/stattests): a p-value drifts below the threshold (KS: at or
# below), a distance at or above it; the drifted-column count of the report is printed beside for a check
P_VALUE_METHODS = {"ks", "chisquare", "z", "K-S p_value", "chi-square p_value", "Z-test p_value"}
AT_OR_BELOW = {"ks", "K-S p_value"}
WARMUP_ROWS = 2_000


def verdicts(snapshot: Any) -> dict[str, Any]:
    """Each column's method, score, threshold and drift verdict from the report, plus Evidently's own count."""
    columns: dict[str, dict[str, Any]] = {}
    count = None
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        if config.get("type", "").endswith("DriftedColumnsCount"):
            count = metric["value"]["count"]
        elif config.get("type", "").endswith("ValueDrift"):
            method, threshold, value = config.get("method"), config.get("threshold"), metric["value"]
            p_value = method in P_VALUE_METHODS or "p_value" in str(method)
            if p_value:
                drifted = value <= threshold if method in AT_OR_BELOW else value < threshold
            else:
                drifted = value >= threshold
            columns[config["column"]] = {
                "method": method,
                "value": value,
                "threshold": threshold,
                "score": "p_value" if p_value else "distance",
                "drifted": bool(drifted),
            }
    return {"columns": columns, "evidently_drifted_count": count}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--config", choices=("default", "ks-chi2"), default="default")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--budget", type=float, default=float("inf"), help="seconds; fewer repeats past it")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # scipy's divide-by-zero warnings on empty bins, one per column and run
    memory = m.Memory()

    t0 = time.perf_counter()
    import evidently
    import pandas as pd
    import pyarrow.parquet as pq
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    import_s = time.perf_counter() - t0
    m.emit(event="start", side="evidently", config=args.config, size=args.size, import_s=import_s)

    files = data.paths(Path(args.data), args.size)
    t0 = time.perf_counter()
    reference = pq.read_table(files["reference"]).to_pandas()
    current = pq.read_table(files["current"]).to_pandas()
    load_s = time.perf_counter() - t0
    m.emit(event="load", seconds=load_s, rss=m.rss(), frame_bytes=int(reference.memory_usage(deep=True).sum()))

    definition = DataDefinition(numerical_columns=data.NUMERIC, categorical_columns=data.CATEGORICAL)
    options = {} if args.config == "default" else {"num_method": "ks", "cat_method": "chisquare"}

    def run(cur: pd.DataFrame, ref: pd.DataFrame) -> Any:
        report = Report([DataDriftPreset(**options)])
        return report.run(
            Dataset.from_pandas(cur, data_definition=definition), Dataset.from_pandas(ref, data_definition=definition)
        )

    warm_s, _ = m.timed(lambda: run(current.head(WARMUP_ROWS), reference.head(WARMUP_ROWS)))
    m.emit(event="warmup", seconds=warm_s)
    _, snapshot = m.measure("report", lambda: run(current, reference), args.repeat, memory, budget_s=args.budget)
    m.emit(
        event="result",
        versions={"evidently": evidently.__version__, "pandas": pd.__version__},
        peak_rss=memory.peak(),
        **verdicts(snapshot),
    )


if __name__ == "__main__":
    main()
