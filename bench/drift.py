"""Drift benchmark: Shipyard's drift computation beside Evidently's data-drift report and the floors, in one run.

    .venv/bin/python bench/drift.py [--repeat N] [--quick] [--sizes 100000,1000000] [--skip-evidently]

The same seeded reference and current tables (25 columns: 20 numeric, 5 strings; seven columns drift) at
100,000 and 1,000,000 rows, written once as Parquet, are read by every side, each in its own fresh
interpreter so its peak memory is its own: Shipyard (``Reference.build`` + ``compute_drift`` together:
two tables in, per-column drift out, the same work as Evidently's report; and each half alone),
Evidently's ``DataDriftPreset`` (defaults, and KS + chi²) in its own virtualenv, the histogram floor
(the same histograms in one vectorised numpy/pyarrow pass) and the scipy floor (``ks_2samp`` + numpy PSI
on the raw data). Also the 10,000-row window against a stored reference (the production path: different
work, no Evidently figure beside it). Prints the medians, peak RSS, the ratios, the issue's targets
met/MISSED and where the sides' drift verdicts differ; writes ``bench/results/drift-<timestamp>.json`` with
its ``headlines`` (``bench/_headlines.py``). See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))

import _drift_data as data  # noqa: E402  (bench/ is not a package)
from _headlines import headline  # noqa: E402

EVIDENTLY_VENV = BENCH / ".venv-evidently"
EVIDENTLY_STAMP = EVIDENTLY_VENV / ".installed-stamp"
EVIDENTLY_PACKAGES = ["evidently", "pandas<3", "pyarrow"]  # Evidently 0.7 fails to import beside pandas 3

SIZES = (100_000, 1_000_000)
SIDE_TIMEOUT_S = 600  # Shipyard and the floors: minutes would mean something is badly wrong
EVIDENTLY_TIMEOUT_S = 900  # one Evidently process (one size, one configuration): 15 minutes
EVIDENTLY_BUDGET_S = 600  # ... past 10 minutes of timed reports it stops repeating (at least one report)

# the targets (from issues 7 and 17), checked for Shipyard
TARGET_VS_EVIDENTLY = 20.0  # build + compute at least 20x faster than Evidently at 100,000 and 1,000,000 rows
TARGET_VS_FLOOR = 2.0  # within 2x of the histogram floor
TARGET_WINDOW_MS = 50.0  # a 10,000-row window against a stored reference

LABELS = {
    "shipyard-same": "shipyard Reference.build + compute_drift (same work as evidently)",
    "shipyard-build": "shipyard Reference.build alone (one-off)",
    "shipyard": "shipyard compute_drift alone, vs the built reference",
    "floor": "floor: histograms on the grid",
    "scipy": "scipy floor: ks_2samp + PSI",
    "evidently": "evidently DataDriftPreset",
    "evidently-ks": "evidently KS + chi2",
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def short(text: str) -> str:
    return (text.strip().splitlines() or [""])[-1][:300]


def median(values: list[float] | None) -> float | None:
    return statistics.median(values) if values else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1e3:.1f} ms" if seconds >= 0.01 else f"{seconds * 1e3:.2f} ms"


def fmt_mb(n: float | None) -> str:
    return "-" if n is None else f"{n / 2**20:,.0f} MB"


def times(x: float | None) -> str:
    return "-" if x is None else f"{x:,.2f}x" if x < 10 else f"{x:,.1f}x" if x < 100 else f"{x:,.0f}x"


def verdict(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "n/a"}[met]


def table(lines: list[tuple[str, ...]], header: tuple[str, ...], left: int = 2) -> str:
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]

    def fmt(line: tuple[str, ...]) -> str:
        cells = [c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))]
        return " | ".join(cells).rstrip()

    return "\n".join([fmt(header), "-+-".join("-" * w for w in widths), *(fmt(line) for line in lines)])


# --- running a side ------------------------------------------------------------------------------------
def python_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("SHIPYARD_")}


def run_side(name: str, size: int, command: list[str], timeout: float) -> dict[str, Any]:
    """Run one side's helper, relaying its progress; collect its JSON lines (those before a timeout too)."""
    log(f"{name} at {size:,} rows: {Path(command[1]).name} ...")
    started = time.perf_counter()
    side: dict[str, Any] = {"side": name, "size": size, "command": command, "status": "ok", "phases": {}}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=python_env())
    stdout: list[str] = []
    stderr: list[str] = []

    def read_stdout() -> None:
        assert process.stdout is not None
        stdout.extend(process.stdout)

    def relay_stderr() -> None:  # progress as it comes (Evidently at 1,000,000 rows takes minutes)
        assert process.stderr is not None
        for line in process.stderr:
            stderr.append(line.rstrip())
            log(f"  {name}: {line.strip()}")

    readers = [threading.Thread(target=fn, daemon=True) for fn in (read_stdout, relay_stderr)]
    for reader in readers:
        reader.start()
    try:
        code = process.wait(timeout=timeout)
        if code != 0:
            side.update(status="failed", reason=f"exit code {code}: {short(stderr[-1] if stderr else '')}")
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        side.update(status="timeout", reason=f"killed after {timeout:.0f} s (its timeout)")
    for reader in readers:
        reader.join()
    side["wall_s"] = time.perf_counter() - started
    for line in stdout:
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        event = record.pop("event")
        if event == "phase":
            side["phases"][record.pop("phase")] = record
        elif event == "sample":  # a phase cut short by a timeout keeps the samples it finished
            phase = side["phases"].setdefault(record["phase"], {"samples": [], "partial": True})
            if phase.get("partial"):
                phase["samples"].append(record["seconds"])
        else:
            side[event] = record
    if side["status"] != "ok":
        log(f"  {name}: {side['status']} ({side['reason']})")
        side["stderr_tail"] = stderr[-15:]
    return side


def phase_median(side: dict[str, Any] | None, phase: str) -> float | None:
    return None if side is None else median(side.get("phases", {}).get(phase, {}).get("samples"))


def process_peak(side: dict[str, Any] | None) -> int | None:
    return None if side is None else side.get("result", {}).get("peak_rss")


# --- the sides -----------------------------------------------------------------------------------------
def shipyard_unavailable() -> str | None:
    """Why Shipyard's drift computation cannot be benchmarked, or None when it can."""
    code = (
        "from shipyard.monitoring.reference import Reference\nfrom shipyard.monitoring.statistics import compute_drift"
    )
    env = python_env() | {"PYTHONPATH": str(REPO / "src")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO)
    return None if done.returncode == 0 else f"cannot import it: {short(done.stderr)}"


def evidently_python() -> tuple[Path | None, dict[str, Any]]:
    """bench/.venv-evidently's python, reused when Evidently imports there, else made (once) with pip."""
    python = EVIDENTLY_VENV / "bin" / "python"
    check = "import evidently, pandas, pyarrow; print(evidently.__version__, pandas.__version__)"
    info: dict[str, Any] = {"venv": str(EVIDENTLY_VENV.relative_to(REPO)), "installed_by_this_run": False}

    def probe() -> list[str] | None:
        if not python.exists():
            return None
        done = subprocess.run([python, "-c", check], capture_output=True, text=True, env=python_env())
        return done.stdout.split() if done.returncode == 0 else None

    found = probe()
    if found is None:
        log(f"Installing Evidently into {info['venv']} (first run only; a few minutes) ...")
        try:
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(EVIDENTLY_VENV)], check=True)
            pip = [python, "-m", "pip", "install", "--quiet"]
            subprocess.run([*pip, "--upgrade", "pip"], check=True, env=python_env())
            subprocess.run([*pip, *EVIDENTLY_PACKAGES], check=True, env=python_env())
        except (OSError, subprocess.CalledProcessError) as exc:
            info["reason"] = f"installing it failed: {exc}"
            return None, info
        found = probe()
        if found is None:
            info["reason"] = "Evidently was installed but does not import"
            return None, info
        info["installed_by_this_run"] = True
    info["evidently"], info["pandas"] = found
    if not EVIDENTLY_STAMP.exists() or f"evidently=={found[0]}" not in EVIDENTLY_STAMP.read_text():
        EVIDENTLY_STAMP.write_text(f"evidently=={found[0]}\npandas=={found[1]}\n")
    return python, info


# --- the targets ---------------------------------------------------------------------------------------
def faster_evidently(sides: dict[str, dict[str, Any]]) -> tuple[str | None, float | None]:
    """The key and median of the faster of Evidently's two reports (the peer every ratio is taken against)."""
    peers = {k: phase_median(sides.get(k), "report") for k in ("evidently", "evidently-ks")}
    found = [(v, k) for k, v in peers.items() if v is not None]
    if not found:
        return None, None
    seconds, key = min(found)
    return key, seconds


def evaluate(runs: dict[int, dict[str, dict[str, Any]]], sizes: list[int]) -> list[dict[str, Any]]:
    checks = []
    for size in sorted(set(SIZES) | set(sizes)):
        sides = runs.get(size, {})
        ours = phase_median(sides.get("shipyard"), "build_compute")
        peers = {k: phase_median(sides.get(k), "report") for k in ("evidently", "evidently-ks")}
        speedup = ratio(faster_evidently(sides)[1], ours)
        checks.append(
            {
                "key": f"vs_evidently_{size}",
                "target": f">= {TARGET_VS_EVIDENTLY:g}x faster than Evidently at {size:,} rows (the same work)",
                "figure": f"Evidently {fmt_s(peers['evidently'])} (KS + chi2 {fmt_s(peers['evidently-ks'])}); the "
                f"faster / Shipyard build + compute {fmt_s(ours)} = {times(speedup)}",
                "value": speedup,
                "met": None if speedup is None else speedup >= TARGET_VS_EVIDENTLY,
            }
        )
    for size in sizes:
        sides = runs.get(size, {})
        over = ratio(phase_median(sides.get("shipyard"), "compute"), phase_median(sides.get("floor"), "compute"))
        checks.append(
            {
                "key": f"vs_floor_{size}",
                "target": f"within {TARGET_VS_FLOOR:g}x of the floor at {size:,} rows",
                "figure": f"Shipyard {fmt_s(phase_median(sides.get('shipyard'), 'compute'))} / floor "
                f"{fmt_s(phase_median(sides.get('floor'), 'compute'))} = {times(over)}",
                "value": over,
                "met": None if over is None else over <= TARGET_VS_FLOOR,
            }
        )
    for size in sizes:
        sides = runs.get(size, {})
        ours = process_peak(sides.get("shipyard"))
        peers = [p for p in (process_peak(sides.get(k)) for k in ("evidently", "evidently-ks")) if p is not None]
        lowest = min(peers, default=None)
        checks.append(
            {
                "key": f"memory_{size}",
                "target": f"peak RSS under Evidently's at {size:,} rows",
                "figure": f"Shipyard {fmt_mb(ours)} vs Evidently {fmt_mb(lowest)} (the lower of its two)",
                "value": ours,
                "met": None if ours is None or lowest is None else ours < lowest,
            }
        )
    window = phase_median(runs.get(max(sizes), {}).get("shipyard"), "window")
    checks.append(
        {
            "key": "window",
            "target": f"{data.WINDOW_ROWS:,}-row window vs a stored reference < {TARGET_WINDOW_MS:g} ms",
            "figure": f"from_bytes + compute_drift {fmt_s(window)}",
            "value": window,
            "met": None if window is None else window * 1e3 < TARGET_WINDOW_MS,
        }
    )
    return checks


# --- headlines (bench/_headlines.py) -------------------------------------------------------------------
SAME_WORK = (
    "the same seeded Parquet tables (25 columns: 20 numeric, 5 strings), read before the timer; reference table "
    "and current table in, each column's drift verdict out: Shipyard compute_drift(Reference.build(reference), "
    "current) on pyarrow tables, default methods (at these sizes normed Wasserstein and Jensen-Shannon, "
    "threshold 0.1) vs Evidently Report([DataDriftPreset(...)]).run(current, reference) on pandas DataFrames, "
    "Dataset building included; the peer is the faster of Evidently's two configurations"
)
GRID_NOTE = (
    "Shipyard's Wasserstein is taken on a 1,000-quantile grid of the reference (within 1/1,000 of the exact "
    "value, docs/drift.md), Evidently's on the raw values; Evidently also builds its Dataset objects and a "
    "report snapshot (timed, as part of its report)"
)


def headlines(
    runs: dict[int, dict[str, dict[str, Any]]], sizes: list[int], evidently_version: str | None, quick: bool
) -> list[dict[str, Any]]:
    """The same-work ratio at each size, then the production figures (a stored reference), labelled apart."""
    out = []
    for size in sizes:
        sides = runs.get(size, {})
        ours = phase_median(sides.get("shipyard"), "build_compute")
        if ours is None:
            continue
        key, theirs = faster_evidently(sides)
        speedup = ratio(theirs, ours)
        differs = GRID_NOTE
        if key is None:
            why = "skipped (--quick)" if quick and size >= 1_000_000 else "not run"
            peer = f"Evidently ({why})"
        elif key == "evidently":
            peer = f"Evidently {evidently_version} DataDriftPreset() (defaults: Wasserstein, Jensen-Shannon)"
        else:
            peer = f"Evidently {evidently_version} DataDriftPreset(num_method='ks', cat_method='chisquare')"
            default = phase_median(sides.get("evidently"), "report")
            differs = (
                "the peer computes other statistics than Shipyard's defaults: KS and chi2 p-values (Evidently's "
                "faster configuration; its defaults, Wasserstein and Jensen-Shannon as Shipyard's, took "
                f"{fmt_s(default)}, {times(ratio(default, ours))} Shipyard's time); " + GRID_NOTE
            )
        out.append(
            headline(
                f"drift, {size:,} rows x {len(data.COLUMNS)} columns: Reference.build + compute_drift",
                ours=ours,
                unit="s",
                same_work=SAME_WORK,
                peer=peer,
                theirs=theirs,
                target=f">= {TARGET_VS_EVIDENTLY:g}x Evidently",
                met=None if speedup is None else speedup >= TARGET_VS_EVIDENTLY,
                differs=differs,
            )
        )
    largest = max(sizes)
    sides = runs.get(largest, {})
    compute = phase_median(sides.get("shipyard"), "compute")
    floor = phase_median(sides.get("floor"), "compute")
    not_same = (
        "NOT the same work as the Evidently rows: the reference was summarised once before (Reference.build, "
        "not timed here) and only the current data is read; Evidently has no stored reference, so there is no "
        "peer figure"
    )
    if compute is not None:
        over = ratio(compute, floor)
        out.append(
            headline(
                f"drift against a built reference, {largest:,} rows x {len(data.COLUMNS)} columns: compute_drift",
                ours=compute,
                unit="s",
                same_work="the current table counted on the reference's grids and value lists, then every "
                "column's statistic: Shipyard compute_drift vs the histogram floor (the same counts in one "
                "vectorised numpy/pyarrow pass, PSI only)",
                floor=floor,
                floor_name="histogram floor",
                target=f"within {TARGET_VS_FLOOR:g}x of the floor",
                met=None if over is None else over <= TARGET_VS_FLOOR,
                differs=not_same,
            )
        )
    window = phase_median(sides.get("shipyard"), "window")
    if window is not None:
        window_floor = phase_median(sides.get("floor"), "window")
        out.append(
            headline(
                f"drift of a {data.WINDOW_ROWS:,}-row window against a stored reference ({largest:,}-row table)",
                ours=window * 1e3,
                unit="ms",
                same_work="Reference.from_bytes(stored) + compute_drift(reference, window), the production "
                "monitor's step, vs the histogram floor counting the same window on the same grids",
                floor=None if window_floor is None else window_floor * 1e3,
                floor_name="histogram floor",
                target=f"< {TARGET_WINDOW_MS:g} ms",
                met=window * 1e3 < TARGET_WINDOW_MS,
                differs=not_same,
            )
        )
    return out


# --- agreement -----------------------------------------------------------------------------------------
def drifted(side: dict[str, Any] | None) -> set[str] | None:
    columns = None if side is None else side.get("result", {}).get("columns")
    return None if columns is None else {name for name, c in columns.items() if c["drifted"]}


def agreement(sides: dict[str, dict[str, Any]]) -> list[str]:
    """One line per side: which columns it flags, and how that compares with the data and with Shipyard."""
    expected = set(data.DRIFTED)
    ours = drifted(sides.get("shipyard"))
    lines = []
    for key in ("shipyard", "evidently", "evidently-ks", "scipy"):
        flagged = drifted(sides.get(key))
        if flagged is None:
            continue
        missed, extra = sorted(expected - flagged), sorted(flagged - expected)
        name = "shipyard" if key == "shipyard" else LABELS[key].split(":")[0]
        line = f"{name}: {len(flagged)} flagged"
        own = sides[key]["result"].get("evidently_drifted_count")
        if own is not None and own != len(flagged):  # how the verdicts are read off the report is wrong
            line += f" (but its report counts {own:g} drifted columns)"
        line += "; all 7 drifted columns" if not missed else f"; misses {', '.join(missed)}"
        line += f"; also {', '.join(extra)}" if extra else ""
        if key != "shipyard" and ours is not None:
            differ = sorted(flagged ^ ours)
            line += f"; agrees with Shipyard on {len(data.COLUMNS) - len(differ)}/{len(data.COLUMNS)}"
            line += f" (differs on {', '.join(differ)})" if differ else ""
        lines.append(line)
    return lines


def column_table(sides: dict[str, dict[str, Any]]) -> str:
    def cell(key: str, name: str) -> str:
        column = sides.get(key, {}).get("result", {}).get("columns", {}).get(name)
        if column is None:
            return "-"
        value = column.get("value")
        text = "-" if value is None else f"{value:.3g}"
        if key == "shipyard":
            method = column["method"].split(".")[-1].lower()
            p_value = column.get("p_value")
            text = f"{method} {text}" + ("" if p_value is None else f" p={p_value:.2g}")
        return f"{text} {'DRIFT' if column['drifted'] else 'ok'}"

    lines = []
    for column in data.COLUMNS:
        expect = column.expect + (f" ({column.description})" if column.description else "")
        cells = [cell(key, column.name) for key in ("shipyard", "evidently", "evidently-ks", "floor")]
        lines.append((column.name, expect, *cells))
    header = ("column", "in the data", "shipyard", "evidently (default)", "evidently KS/chi2 p", "floor PSI (> 0.2)")
    return table(lines, header, left=6)


# --- main ----------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description="Shipyard's drift computation vs Evidently vs the floors.")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per figure; the median is shown")
    parser.add_argument("--quick", action="store_true", help="1 repeat, and no Evidently at 1,000,000 rows")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="rows per table, comma-separated")
    parser.add_argument("--skip-evidently", action="store_true", help="leave Evidently out")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    sizes = sorted(int(x) for x in args.sizes.replace("_", "").split(","))
    if repeat < 1 or not sizes or min(sizes) < data.WINDOW_ROWS:
        parser.error(f"--repeat must be at least 1 and every size at least {data.WINDOW_ROWS:,}")
    if not sys.platform.startswith("linux"):
        sys.exit("error: this benchmark reads /proc for memory figures; it runs on Linux only")
    started, wall0 = dt.datetime.now(dt.UTC), time.perf_counter()
    load_before = os.getloadavg()

    import numpy
    import pyarrow
    import scipy

    versions: dict[str, Any] = {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pyarrow": pyarrow.__version__,
        "scipy": scipy.__version__,
    }
    unavailable: dict[str, str] = {}
    notes: list[str] = []
    shipyard_reason = shipyard_unavailable()
    if shipyard_reason:
        unavailable["shipyard"] = shipyard_reason
        log(f"shipyard: unavailable ({shipyard_reason})")
    evidently = None
    evidently_info: dict[str, Any] = {}
    if args.skip_evidently:
        unavailable["evidently"] = "skipped (--skip-evidently)"
    else:
        evidently, evidently_info = evidently_python()
        if evidently is None:
            unavailable["evidently"] = evidently_info["reason"]
            log(f"evidently: unavailable ({evidently_info['reason']})")
        else:
            versions["evidently"] = evidently_info["evidently"]
            versions["evidently_pandas"] = evidently_info["pandas"]

    runs: dict[int, dict[str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-drift-") as tmp_name:
        folder = Path(tmp_name)
        log(f"writing the tables ({', '.join(f'{s:,}' for s in sizes)} rows x {len(data.COLUMNS)} columns) ...")
        t0 = time.perf_counter()
        parquet = data.write_tables(folder, sizes)
        data_s = time.perf_counter() - t0
        for size in sizes:
            sides: dict[str, dict[str, Any]] = {}
            common = ["--data", str(folder), "--size", str(size), "--repeat", str(repeat)]
            if not shipyard_reason:
                extra = ["--window"] if size == max(sizes) else []
                command = [sys.executable, str(BENCH / "_drift_shipyard.py"), *common, *extra]
                sides["shipyard"] = run_side("shipyard", size, command, SIDE_TIMEOUT_S)
            for mode, key in (("histogram", "floor"), ("scipy", "scipy")):
                command = [sys.executable, str(BENCH / "_drift_floor.py"), *common, "--mode", mode]
                sides[key] = run_side(key, size, command, SIDE_TIMEOUT_S)
            if evidently is not None and args.quick and size >= 1_000_000:
                unavailable[f"evidently at {size:,} rows"] = "skipped (--quick)"
            elif evidently is not None:
                for config, key in (("default", "evidently"), ("ks-chi2", "evidently-ks")):
                    command = [str(evidently), str(BENCH / "_drift_evidently.py"), *common, "--config", config]
                    command += ["--budget", str(EVIDENTLY_BUDGET_S)]
                    sides[key] = run_side(key, size, command, EVIDENTLY_TIMEOUT_S)
            for key, side in sides.items():
                if side["status"] != "ok":
                    unavailable[f"{key} at {size:,} rows"] = f"{side['status']}: {side['reason']}"
            runs[size] = sides
        if "shipyard" in runs[sizes[0]] and "result" in runs[sizes[0]]["shipyard"]:
            versions["shipyard"] = runs[sizes[0]]["shipyard"]["result"]["versions"]["shipyard"]
    checks = evaluate(runs, sizes)
    heads = headlines(runs, sizes, versions.get("evidently"), args.quick)
    wall = time.perf_counter() - wall0
    load_after = os.getloadavg()

    # --- print ---------------------------------------------------------------------------------------------
    print(
        f"Shipyard drift benchmark, {started:%Y-%m-%d %H:%M} UTC, median of {repeat} run{'s' if repeat > 1 else ''}\n"
        f"Python {versions['python']}, numpy {versions['numpy']}, pyarrow {versions['pyarrow']}, scipy "
        f"{versions['scipy']}; Shipyard {versions.get('shipyard', 'not run')}; "
        + (
            f"Evidently {versions['evidently']} (pandas {versions['evidently_pandas']})"
            if "evidently" in versions
            else "Evidently not run"
        )
        + f"; {platform.platform()}, {os.cpu_count()} CPUs\n"
    )
    lines = []
    for size, sides in runs.items():
        rows = [("shipyard-same", "shipyard", "build_compute"), ("shipyard-build", "shipyard", "build")]
        rows += [("shipyard", "shipyard", "compute")]
        rows += [("floor", "floor", "compute"), ("scipy", "scipy", "compute")]
        rows += [("evidently", "evidently", "report"), ("evidently-ks", "evidently-ks", "report")]
        for label, key, phase in rows:
            side = sides.get(key)
            if side is None or phase not in side["phases"]:
                continue
            record = side["phases"][phase]
            samples = record["samples"]
            count = f"{len(samples)}"
            if record.get("requested", 0) > len(samples):
                count += f" of {record['requested']}"
            load = side.get("load", {})
            lines.append(
                (
                    f"{size:,}",
                    LABELS[label],
                    fmt_s(median(samples)),
                    count + (" (cut short)" if record.get("partial") else ""),
                    fmt_mb(record.get("peak_rss")),
                    fmt_mb(process_peak(side)),
                    fmt_s(load.get("seconds")),
                    fmt_mb(load.get("rss")),
                )
            )
    header = ("rows", "side", "median", "runs", "peak RSS (phase)", "peak RSS (process)", "load", "RSS after load")
    print(table(lines, header))
    for name, reason in unavailable.items():
        print(f"{name}: unavailable ({reason})")

    print()
    ratio_lines = []
    for size, sides in runs.items():
        same = phase_median(sides.get("shipyard"), "build_compute")
        ours = phase_median(sides.get("shipyard"), "compute")
        ratio_lines.append(
            (
                f"{size:,}",
                times(ratio(phase_median(sides.get("evidently"), "report"), same)),
                times(ratio(phase_median(sides.get("evidently-ks"), "report"), same)),
                times(ratio(same, phase_median(sides.get("scipy"), "compute"))),
                times(ratio(ours, phase_median(sides.get("floor"), "compute"))),
                times(ratio(process_peak(sides.get("shipyard")), process_peak(sides.get("evidently")))),
            )
        )
    header = (
        "rows",
        "evidently/shipyard b+c",
        "evidently KS+chi2/shipyard b+c",
        "shipyard b+c/scipy floor",
        "shipyard compute alone/floor",
        "shipyard/evidently peak RSS",
    )
    print("Ratios. Same work (both tables in): b+c = Reference.build + compute_drift; Evidently and the scipy floor")
    print("also read both tables every time. Compute alone vs the histogram floor: a built reference, not the same")
    print("work as Evidently's.")
    print(table(ratio_lines, header, left=1))

    largest = runs.get(max(sizes), {})
    ship = largest.get("shipyard", {})
    if "window" in ship.get("phases", {}):
        stored = ship.get("result", {}).get("stored_reference_bytes")
        window_drifted = ship.get("result", {}).get("window", {}).get("drifted", [])
        print(
            f"\n{data.WINDOW_ROWS:,}-row window against the stored reference of the {max(sizes):,}-row table "
            f"({stored:,} bytes): Reference.from_bytes + compute_drift {fmt_s(phase_median(ship, 'window'))} "
            f"(from_bytes {fmt_s(phase_median(ship, 'window_from_bytes'))}, compute_drift "
            f"{fmt_s(phase_median(ship, 'window_compute'))}; the histogram floor on the window "
            f"{fmt_s(phase_median(largest.get('floor'), 'window'))}); flags {len(window_drifted)} columns"
            + (f" ({', '.join(window_drifted)})" if window_drifted else "")
        )

    print("\nHeadlines (bench/_headlines.py; in the JSON report for bench/summary.py):")
    head_lines = [
        (
            h["name"],
            f"{h['ours']:.3g} {h['unit']}",
            "-" if h["theirs"] is None else f"{h['theirs']:.3g} {h['unit']}",
            times(h["x_better_than_peer"]),
            "-" if h["floor"] is None else f"{h['floor']:.3g} {h['unit']}",
            h["target"],
            verdict(h["met"]),
            "NOT the same work as Evidently's" if h["differs"].startswith("NOT") else h["peer"] or "",
        )
        for h in heads
    ]
    header = ("headline", "shipyard", "peer", "x peer", "floor", "target", "verdict", "")
    print(table(head_lines, header, left=1))

    print()
    target_lines = [(c["target"], c["figure"], verdict(c["met"])) for c in checks]
    print(table(target_lines, ("target (Shipyard)", "figure", "verdict"), left=3))

    print("\nDrift verdicts (the data: 7 columns drift, num_normal_1 by 0.03 sd only, 17 do not):")
    for size, sides in runs.items():
        for line in agreement(sides):
            print(f"- {size:,} rows, {line}")
    shown = next((size for size in reversed(sizes) if "result" in runs[size].get("evidently", {})), max(sizes))
    print(f"\nPer column at {shown:,} rows (value and verdict of each side):")
    print(column_table(runs[shown]))

    print()
    floor_grids = largest.get("floor", {}).get("result", {}).get("grids", "-")
    notes += [
        f"data: seeded numpy, written once as Parquet (pyarrow defaults, {sum(parquet.values()) / 2**20:,.0f} MB in "
        f"{len(parquet)} files, {data_s:.1f} s); every side reads the same files in its own fresh interpreter, "
        "one side at a time; reading them is timed apart (load) and not in any figure",
        "shipyard: compute_drift(Reference.build(reference table), current table) timed as one (the same work "
        "as Evidently's report, what the ratios against it are taken on); then Reference.build alone (a one-off "
        "at training time) and compute_drift(reference, current table) alone (production: a built reference); "
        "default methods; pyarrow tables",
        f"floor: the current table's histograms on Shipyard's reference grids (np.sort + np.searchsorted; "
        f"grids: {floor_grids}) and pyarrow value_counts for strings, plus PSI from the counts; "
        "scipy floor: ks_2samp + PSI on 10 decile bins for numeric columns, value_counts + chi2_contingency + PSI "
        "for strings, on both tables' raw data every time",
        "evidently: Report([DataDriftPreset()]).run(Dataset.from_pandas(current), Dataset.from_pandas(reference)) "
        "with a DataDefinition naming the 20 numeric and 5 categorical columns (building the Datasets is timed with "
        "the report); KS + chi2 = DataDriftPreset(num_method='ks', cat_method='chisquare'); one untimed report on "
        f"2,000 rows first; each process stops repeating past {EVIDENTLY_BUDGET_S} s of reports and is killed at "
        f"{EVIDENTLY_TIMEOUT_S} s",
        "peak RSS (process): VmHWM of the side's whole process (its tables, imports and every phase included); "
        "(phase): the peak during that phase alone (VmHWM reset through /proc/self/clear_refs after loading)",
        "not pinned: each side is one process run alone on the machine; numpy, pyarrow and scipy may use both CPUs",
    ]
    if evidently_info:
        how = "installed by this run" if evidently_info.get("installed_by_this_run") else "reused"
        packages = " ".join(EVIDENTLY_PACKAGES)
        notes.append(f"evidently's virtualenv {evidently_info['venv']}: {how} (pip install {packages})")
    busy = " (the machine was busy when the run began: the figures move with it)" if load_before[0] > 0.5 else ""
    notes.append(f"1-minute load average before / after the run: {load_before[0]:.2f} / {load_after[0]:.2f}{busy}")
    for note in notes:
        print(f"- {note}")
    print(f"- wall time of this benchmark: {wall:.0f} s")

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"drift-{started:%Y%m%dT%H%M%SZ}.json"
    report = {
        "started": started.isoformat(),
        "args": {"repeat": repeat, "quick": args.quick, "sizes": sizes, "skip_evidently": args.skip_evidently},
        "versions": versions,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_before_after": [load_before, load_after],
        },
        "data": {
            "columns": [
                {"name": c.name, "kind": c.kind, "expect": c.expect, "change": c.description} for c in data.COLUMNS
            ],
            "parquet_bytes": parquet,
            "window_rows": data.WINDOW_ROWS,
        },
        "runs": {str(size): sides for size, sides in runs.items()},
        "targets": checks,
        "headlines": heads,
        "evidently": evidently_info,
        "unavailable": unavailable,
        "notes": notes,
        "wall_time_s": wall,
    }
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"- figures written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
