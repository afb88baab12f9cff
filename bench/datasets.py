"""Dataset-version benchmark: registering and profiling a pandas table, beside plain pyarrow (the floor).

    .venv/bin/python bench/datasets.py [--repeat N] [--rows N] [--quick]

The table: ``--rows`` (default 1,000,000) rows x 25 columns: 10 float64 (two with 1 % NaN), 10 int64,
5 string columns with 10, 50, 100, 500 and 1,000 distinct values (three pandas ``str``, two ``category``).

- floor: ``pyarrow.Table.from_pandas(df)`` + ``pyarrow.parquet.write_table(table, path)``: conversion and
  a Parquet file, with pyarrow's defaults, and nothing else.
- ours: ``write_canonical_parquet(df, folder)``: canonical conversion, the Parquet file, the content
  digest, the schema and the full profile (statistics, quantiles, histograms, top values, distinct counts).
- register: ``Client(folder).datasets.register("bench", df)``: the above plus the blob store and the
  metadata store (measured when ``shipyard.Client`` has ``datasets``).

Each figure is the median of ``--repeat`` measurements; the sides alternate within a repeat, each into a
fresh temporary folder. Below the table, the parts of ours measured alone (no overlap) show where time goes.
Writes ``bench/results/datasets-<timestamp>.json``. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _harness as h

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
TARGET = 2.0  # ours <= 2x floor


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_frame(rows: int) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    columns: dict[str, Any] = {}
    for i in range(10):
        values = rng.normal(loc=i, scale=1 + i, size=rows)
        if i < 2:
            values[rng.random(rows) < 0.01] = np.nan
        columns[f"num_{i}"] = values
    for i in range(10):
        columns[f"int_{i}"] = rng.integers(0, 10 ** (i % 5 + 2), size=rows)
    for i, distinct in enumerate((10, 50, 100, 500, 1000)):
        labels = np.array([f"{'abcde'[i]}_{j:04d}" for j in range(distinct)], dtype=object)
        values = labels[rng.integers(0, distinct, size=rows)]
        columns[f"cat_{i}"] = pd.Categorical(values) if i % 2 else pd.array(values, dtype="str")
    return pd.DataFrame(columns)


def timed(fn: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description="Shipyard dataset versions vs plain pyarrow.")
    parser.add_argument("--repeat", type=int, default=5, help="measurements per figure; the median is shown")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the benchmark table")
    parser.add_argument("--quick", action="store_true", help="1 measurement per figure (make bench-quick)")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 1
    if args.repeat < 1 or args.rows < 1:
        parser.error("--repeat and --rows must be at least 1")

    sys.path.insert(0, str(REPO / "src"))  # benchmark this checkout, installed or not
    import pyarrow as pa
    import pyarrow.parquet as pq

    import shipyard as sy
    from shipyard.data.digest import TableHasher
    from shipyard.data.profile import Profiler
    from shipyard.data.tables import as_arrow
    from shipyard.data.writer import write_canonical_parquet

    started, wall0 = dt.datetime.now(dt.UTC), time.perf_counter()
    log(f"building the {args.rows:,} x 25 table ...")
    df = make_frame(args.rows)
    has_register = hasattr(getattr(sy, "Client", None), "datasets") or "datasets" in dir(sy)

    def floor(tmp: Path) -> float:
        return timed(lambda: pq.write_table(pa.Table.from_pandas(df), tmp / "floor.parquet"))

    def ours(tmp: Path) -> float:
        return timed(lambda: write_canonical_parquet(df, tmp / "ours"))

    def register(tmp: Path) -> float:
        client = sy.Client(str(tmp / "store"))
        client.datasets.register("warm-up", {"x": [1]})  # opening the store is not what is measured
        return timed(lambda: client.datasets.register("bench", df))

    sides: dict[str, Callable[[Path], float]] = {"floor": floor, "ours": ours}
    if has_register:
        sides["register"] = register
    for side in sides.values():  # untimed warm-up: imports, thread pools, first-call costs
        with h.fresh_dir() as tmp:
            side(tmp)
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for i in range(args.repeat):
        for name, side in sides.items():
            with h.fresh_dir() as tmp:
                samples[name].append(side(tmp))
        log(f"{i + 1}/{args.repeat}: " + ", ".join(f"{n} {h.format_seconds(s[-1])}" for n, s in samples.items()))

    # The parts of ours, one at a time (they overlap with the Parquet writer in the real thing).
    table = as_arrow(df)
    batches = table.to_batches(max_chunksize=1 << 18)

    def hash_all() -> None:
        hasher = TableHasher(table.schema)
        for batch in batches:
            hasher.update(batch)
        hasher.hexdigest()

    def profile_all() -> None:
        profiler = Profiler(table.schema)
        for batch in batches:
            profiler.update(batch)
        for batch in batches:
            profiler.update_histograms(batch)
        profiler.finish()

    parts = {
        "as_arrow (canonical conversion)": lambda: as_arrow(df),
        "TableHasher (content digest)": hash_all,
        "Profiler (both passes + finish)": profile_all,
    }
    part_medians = {label: statistics.median(timed(fn) for _ in range(args.repeat)) for label, fn in parts.items()}

    medians = {name: statistics.median(s) for name, s in samples.items()}
    rows = [("floor: Table.from_pandas + parquet.write_table", medians["floor"], None)]
    rows.append(("ours: write_canonical_parquet(df, folder)", medians["ours"], medians["ours"] / medians["floor"]))
    if has_register:
        ratio = medians["register"] / medians["floor"]
        rows.append(('register: Client(folder).datasets.register("bench", df)', medians["register"], ratio))
    print(
        f"Shipyard dataset benchmark, {started:%Y-%m-%d %H:%M} UTC, median of {args.repeat}; "
        f"{args.rows:,} rows x 25 columns; pyarrow {pa.__version__}, Python {platform.python_version()}, "
        f"{platform.platform()}, {os.cpu_count()} CPUs\n"
    )
    width = max(len(label) for label, _, _ in rows)
    print(f"{'operation'.ljust(width)} | {'median':>9} | ratio to floor | target")
    print(f"{'-' * width}-+-{'-' * 9}-+-{'-' * 14}-+-{'-' * 12}")
    for label, seconds, ratio in rows:
        verdict = "-" if ratio is None else ("met" if ratio <= TARGET else "MISSED")
        shown = "" if ratio is None else f"{ratio:.2f}x"
        print(f"{label.ljust(width)} | {h.format_seconds(seconds):>9} | {shown:>14} | {f'<={TARGET:g}x: {verdict}'}")
    print("\nparts of ours, each alone:")
    for label, seconds in part_medians.items():
        print(f"- {label}: {h.format_seconds(seconds)}")
    if not has_register:
        print("- register: not measured (this checkout's shipyard.Client has no datasets yet)")
    wall = time.perf_counter() - wall0
    print(f"- wall time of this benchmark: {wall:.0f} s")

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"datasets-{started:%Y%m%dT%H%M%SZ}.json"
    report = {
        "started": started.isoformat(),
        "args": {"repeat": args.repeat, "rows": args.rows, "quick": args.quick},
        "versions": {"pyarrow": pa.__version__, "python": platform.python_version()},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "samples_s": samples,
        "medians_s": medians,
        "parts_s": part_medians,
        "target": f"ours <= {TARGET:g}x floor",
        "wall_time_s": wall,
        "headlines": _headlines(args.rows, medians),
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"- figures written to {out.relative_to(REPO)}")


def _headlines(rows: int, medians: dict[str, float]) -> list[dict[str, Any]]:
    """The summary's rows: the canonical write, and register, each against the floor (no peer here)."""
    from _headlines import headline

    floor = "Table.from_pandas + parquet.write_table"
    differs = (
        "Shipyard also canonicalises types, hashes the content and profiles every column (two passes); "
        "the floor only converts and writes; the peer (DVC) is bench/datasets_dvc.py"
    )
    found = [
        headline(
            f"write a {rows:,} x 25 DataFrame as canonical Parquet",
            ours=medians["ours"],
            unit="s",
            floor=medians["floor"],
            floor_name=floor,
            target=f"<= {TARGET:g}x the floor's time",
            met=medians["ours"] <= TARGET * medians["floor"],
            same_work=f"a pandas DataFrame of {rows:,} rows x 25 columns in, a Parquet file on local disk out",
            differs=differs,
        )
    ]
    if "register" in medians:
        found.append(
            headline(
                f"register a {rows:,} x 25 DataFrame as a dataset version",
                ours=medians["register"],
                unit="s",
                floor=medians["floor"],
                floor_name=floor,
                target=f"<= {TARGET:g}x the floor's time",
                met=medians["register"] <= TARGET * medians["floor"],
                same_work="the same DataFrame in, stored durably when the timer stops",
                differs=differs + "; register also stores the blob by digest and records the version",
            )
        )
    return found


if __name__ == "__main__":
    main()
