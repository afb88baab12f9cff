"""Dataset versions against DVC: registering and loading the same Parquet file, as processes and in process.

    .venv/bin/python bench/datasets_dvc.py [--repeat N] [--rows N] [--quick] [--skip-dvc]

One table (``bench/datasets.py``'s: ``--rows`` x 25 columns, default 1,000,000; ``--quick``: 100,000 and one
repeat) is written once as a Parquet file (pyarrow defaults); every side registers and loads that file.

- Shipyard, whole process: ``python -c "…sy.datasets.register('bench', PATH)"`` and ``…sy.datasets.load(…)``
  (the CLI has no register or load command), each a new interpreter on a store made before the timer.
- DVC, whole process: ``dvc add`` + ``git add``/``git commit`` + ``dvc push`` to register; ``dvc get`` (and,
  apart, ``git clone`` + ``dvc pull``, and ``dvc checkout`` from the cache) to load. A fresh git + DVC
  repository per measurement, its remote a local folder.
- In process: ``client.datasets.register(name, path)`` / ``client.datasets.load(ref)`` against DVC's
  ``Repo.add`` + ``scm`` commit + ``Repo.push`` / ``dvc.api.read`` + ``pyarrow.parquet.read_table``
  (``bench/_dvc_workload.py``, run with ``bench/.venv-dvc``'s python).
- Floors: ``pyarrow.parquet.read_table`` + ``write_table`` (and ``read_table`` alone), and for DVC's kind of
  work a file copy + md5 (or sha256) of it (and a copy alone).

DVC is installed on first use into ``bench/.venv-dvc`` (``python -m venv`` + ``pip install dvc pyarrow``).
Every side runs once untimed, then each repeat runs every side in turn; the figures are medians. Writes
``bench/results/datasets_dvc-<UTC>.json`` with ``headlines`` (``bench/_headlines.py``). See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _dvc_workload as dw
import _harness as h
from _headlines import headline
from datasets import make_frame

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
DVC_VENV = BENCH / ".venv-dvc"
DVC_STAMP = DVC_VENV / ".installed-stamp"
PYTHON = sys.executable
REGISTER = "import sys, shipyard as sy; v = sy.datasets.register('bench', sys.argv[1]); print(v.ref, v.digest)"
LOAD = "import shipyard as sy; print(sy.datasets.load('bench@1').num_rows)"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def dvc_python() -> Path:
    """bench/.venv-dvc's python; the virtualenv is created and DVC installed on first use."""
    python = DVC_VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if DVC_STAMP.exists() and python.exists():
        return python
    log(f"Installing DVC into {DVC_VENV.relative_to(REPO)} (first run only; about a minute) ...")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(DVC_VENV)], check=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "dvc", "pyarrow"], check=True)
    code = "import dvc, pyarrow; print(f'dvc=={dvc.__version__} pyarrow=={pyarrow.__version__}')"
    versions = subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    DVC_STAMP.write_text(versions + "\n")
    return python


def run(command: list[str | Path], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    """Seconds from start to exit of one process, and its stdout; it must succeed."""
    gc.collect()
    t0 = time.perf_counter()
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"error: {' '.join(map(str, command))} failed ({done.returncode}):\n{done.stderr}")
    return seconds, done.stdout


def timed(fn: Callable[[], object]) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def with_sums(times: dict[str, float]) -> dict[str, float]:
    """DVC's steps added up per measurement (``"add+commit+push"``), so the medians are of whole operations."""
    for keys in (("add", "commit", "push"), ("add", "commit"), ("read", "parse"), ("read_remote", "parse")):
        if all(key in times for key in keys):
            times["+".join(keys)] = sum(times[key] for key in keys)
    return times


class Sides:
    """Each side: ``fn(tmp) -> {figure: seconds}``, on the same source file, in a fresh folder every time."""

    def __init__(self, source: Path, rows: int, dvc_py: Path | None) -> None:
        import shipyard as sy

        self.sy, self.source, self.rows, self.dvc_py = sy, source, rows, dvc_py
        self.dvc_bin = dvc_py.parent / "dvc" if dvc_py else None
        self.md5 = file_digest(source, "md5")
        self.checked: dict[str, str] = {}
        keep = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_") and k != "PYTHONPATH"}
        self.sy_env = keep | {"PYTHONPATH": str(REPO / "src")}
        self.dvc_env = dw.env()

    def floor_pyarrow(self, tmp: Path) -> dict[str, float]:
        import pyarrow.parquet as pq

        write = timed(lambda: pq.write_table(pq.read_table(self.source), tmp / "copy.parquet"))
        return {"register": write, "load": timed(lambda: pq.read_table(self.source))}

    def floor_copy(self, tmp: Path) -> dict[str, float]:
        def copy_and(algorithm: str) -> None:
            shutil.copyfile(self.source, tmp / algorithm)
            assert file_digest(tmp / algorithm, algorithm)

        return {
            "register": timed(lambda: copy_and("md5")),
            "register_sha256": timed(lambda: copy_and("sha256")),
            "load": timed(lambda: shutil.copyfile(tmp / "md5", tmp / "out")),
        }

    def shipyard_api(self, tmp: Path) -> dict[str, float]:
        from shipyard.data.writer import read_dataset

        client = self.sy.Client(str(tmp / "store"))
        try:
            client.datasets.register("warm-up", {"x": [1]})  # opening the store is not what is measured
            found: dict[str, Any] = {}
            register = timed(lambda: found.setdefault("version", client.datasets.register("bench", str(self.source))))
            load = timed(lambda: found.setdefault("table", client.datasets.load("bench@1")))
            # load's two halves alone: the blob copied out of the store (sha256 checked), then read
            copy = tmp / "copy.parquet"
            download = timed(lambda: client.datasets._backend.blobs.download(found["version"].blob_digest, copy))
            read = timed(lambda: read_dataset(copy))
        finally:
            client.close()
        version, table = found["version"], found["table"]
        assert version.rows == self.rows and table.num_rows == self.rows and table.num_columns == 25
        self.checked |= {"shipyard digest": version.digest, "shipyard stored bytes": str(version.size_bytes)}
        return {"register": register, "load": load, "load_download": download, "load_read": read}

    def shipyard_process(self, tmp: Path) -> dict[str, float]:
        store = tmp / "store"
        client = self.sy.Client(str(store))
        client.datasets.register("warm-up", {"x": [1]})  # the store exists before the timer, as DVC's repository
        client.close()
        env = self.sy_env | {"SHIPYARD_URI": str(store)}
        register, out = run([PYTHON, "-c", REGISTER, self.source], tmp, env)
        assert out.split()[0] == "bench@1", out
        load, out = run([PYTHON, "-c", LOAD], tmp, env)
        assert int(out) == self.rows, out
        start = run([PYTHON, "-c", "import shipyard, pyarrow.parquet"], tmp, env)[0]  # what any process pays first
        return {"register": register, "load": load, "start": start}

    def dvc_process(self, tmp: Path) -> dict[str, float]:
        assert self.dvc_bin is not None
        dvc, env, remote = self.dvc_bin, self.dvc_env, tmp / "remote"
        repo = dw.make_repo(tmp, remote, dvc, self.source)
        times = {"add": run([dvc, "add", dw.FILE], repo, env)[0]}
        times["commit"] = run(["git", "add", f"{dw.FILE}.dvc", ".gitignore"], repo, env)[0]
        times["commit"] += run(["git", "commit", "-q", "-m", "data v1"], repo, env)[0]
        times["push"] = run([dvc, "push"], repo, env)[0]
        assert f"md5: {self.md5}" in (repo / f"{dw.FILE}.dvc").read_text()

        times["get"] = run([dvc, "get", repo, dw.FILE, "-o", tmp / "got.parquet"], tmp, env)[0]
        times["clone_pull"] = run(["git", "clone", "-q", repo, tmp / "clone"], tmp, env)[0]
        times["clone_pull"] += run([dvc, "pull"], tmp / "clone", env)[0]
        (repo / dw.FILE).unlink()
        times["checkout"] = run([dvc, "checkout", dw.FILE], repo, env)[0]
        for got in (tmp / "got.parquet", tmp / "clone" / dw.FILE, repo / dw.FILE):
            assert file_digest(got, "md5") == self.md5, got
        return with_sums(times)

    def dvc_api(self, tmp: Path) -> dict[str, float]:
        assert self.dvc_py is not None
        command = [self.dvc_py, BENCH / "_dvc_workload.py", "--source", self.source, "--repeat", "1"]
        out = run(command, tmp, self.dvc_env)[1]
        report = json.loads(out.strip().splitlines()[-1])
        self.checked["dvc versions"] = json.dumps(report["versions"])
        return with_sums({key: values[0] for key, values in report["samples_s"].items()})


def main() -> None:
    parser = argparse.ArgumentParser(description="Shipyard dataset versions vs DVC, on the same Parquet file.")
    parser.add_argument("--repeat", type=int, help="measurements per figure; the median is shown (default 3)")
    parser.add_argument("--rows", type=int, help="rows of the table (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help="100,000 rows and 1 repeat: about a minute")
    parser.add_argument("--skip-dvc", action="store_true", help="Shipyard and the floors only")
    args = parser.parse_args()
    repeat = args.repeat or (1 if args.quick else 3)
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    if repeat < 1 or rows < 1:
        parser.error("--repeat and --rows must be at least 1")

    sys.path.insert(0, str(REPO / "src"))  # benchmark this checkout, installed or not
    import pyarrow as pa
    import pyarrow.parquet as pq

    started, wall0 = dt.datetime.now(dt.UTC), time.perf_counter()
    dvc_py = None if args.skip_dvc else dvc_python()
    with h.fresh_dir("datasets-dvc-") as work:
        log(f"writing the {rows:,} x 25 table to one Parquet file (pyarrow defaults) ...")
        source = work / "data.parquet"
        pq.write_table(pa.Table.from_pandas(make_frame(rows)), source)
        sides = Sides(source, rows, dvc_py)
        order: dict[str, Callable[[Path], dict[str, float]]] = {
            "floor_pyarrow": sides.floor_pyarrow,
            "floor_copy": sides.floor_copy,
            "shipyard_api": sides.shipyard_api,
            "shipyard_process": sides.shipyard_process,
        }
        if dvc_py is not None:
            order |= {"dvc_process": sides.dvc_process, "dvc_api": sides.dvc_api}
        for name, side in order.items():  # untimed warm-up: imports, page cache, first calls
            log(f"warm-up: {name} ...")
            with h.fresh_dir() as tmp:
                side(tmp)
        samples: dict[str, dict[str, list[float]]] = {name: {} for name in order}
        for i in range(repeat):
            for name, side in order.items():
                with h.fresh_dir() as tmp:
                    for key, seconds in side(tmp).items():
                        samples[name].setdefault(key, []).append(seconds)
            log(f"{i + 1}/{repeat} done")
        source_bytes = source.stat().st_size
    med = {side: {key: statistics.median(v) for key, v in figs.items()} for side, figs in samples.items()}
    report_rows, headlines = build_rows(med, dvc_py is not None, rows)
    print_report(started, repeat, rows, source_bytes, report_rows, med, sides.checked)
    wall = time.perf_counter() - wall0
    print(f"- wall time of this benchmark: {wall:.0f} s")

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"datasets_dvc-{started:%Y%m%dT%H%M%SZ}.json"
    report = {
        "started": started.isoformat(),
        "args": {"repeat": repeat, "rows": rows, "quick": args.quick, "skip_dvc": args.skip_dvc},
        "versions": {"pyarrow": pa.__version__, "python": platform.python_version()}
        | ({"dvc_venv": DVC_STAMP.read_text().strip()} if dvc_py else {}),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "source_file_bytes": source_bytes,
        "checked": sides.checked,
        "samples_s": samples,
        "medians_s": med,
        "rows": report_rows,
        "gives": GIVES,
        "headlines": headlines,
        "wall_time_s": wall,
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"- figures written to {out.relative_to(REPO)}")


# What each side has once it is done, beside the time it took.
GIVES = {
    "register": {
        "shipyard": "name@N in the store; sha256 digest of the canonical table (same table from any file or "
        "frame: same digest, same version); schema (logical types, nulls, categorical domains, ranges); "
        "full profile (counts, nulls, distinct, min/max/mean/sd, quantiles, histograms, top values); "
        "the table re-written as canonical zstd Parquet; actor, time, description; lineage once runs use it",
        "dvc": "md5 and size of the file's bytes in data.parquet.dvc, versioned by the git commit (a re-encoded "
        "file of the same table is a new version); the bytes copied unread into .dvc/cache and, on push, "
        "the remote; no schema, no profile; lineage only through dvc.yaml pipelines (dvc stage), not add",
    },
    "load": {
        "shipyard": "a pyarrow.Table, its blob's sha256 verified while copying out of the store",
        "dvc": "the file's bytes (dvc get/pull/checkout: a file; dvc.api.read: bytes), not parsed; "
        "not re-hashed on fetch (remote.verify is false by default)",
    },
}


def build_rows(med: dict[str, dict[str, float]], with_dvc: bool, rows: int) -> tuple[list[dict[str, Any]], list]:
    """The printed table (label, Shipyard, DVC, floors) and the four headlines."""
    sp, sa, fp, fc = med["shipyard_process"], med["shipyard_api"], med["floor_pyarrow"], med["floor_copy"]
    dp, da = med.get("dvc_process", {}), med.get("dvc_api", {})

    def total(figs: dict[str, float], *keys: str) -> float | None:
        return figs["+".join(keys)] if with_dvc else None

    table = [
        (
            "process",
            "register",
            "python -c sy.datasets.register(...)",
            sp["register"],
            "dvc add + git add/commit + dvc push",
            total(dp, "add", "commit", "push"),
        ),
        ("process", "register", "", None, "dvc add + git add/commit (no push)", total(dp, "add", "commit")),
        ("process", "register", "", None, "dvc add alone", total(dp, "add")),
        (
            "process",
            "load",
            "python -c sy.datasets.load(...)",
            sp["load"],
            "dvc get REPO data.parquet",
            total(dp, "get"),
        ),
        ("process", "load", "", None, "git clone + dvc pull", total(dp, "clone_pull")),
        ("process", "load", "", None, "dvc checkout (from the cache)", total(dp, "checkout")),
        (
            "in process",
            "register",
            "client.datasets.register(name, path)",
            sa["register"],
            "Repo.add + scm add/commit + Repo.push",
            total(da, "add", "commit", "push"),
        ),
        ("in process", "register", "", None, "Repo.add alone", total(da, "add")),
        (
            "in process",
            "load",
            "client.datasets.load(ref) -> Table",
            sa["load"],
            "dvc.api.read (cache) + pq.read_table",
            total(da, "read", "parse"),
        ),
        ("in process", "load", "", None, "dvc.api.read (cache), bytes only", total(da, "read")),
        ("in process", "load", "", None, "dvc.api.read (remote) + pq.read_table", total(da, "read_remote", "parse")),
    ]
    floors = {
        "register": (fp["register"], fc["register"]),
        "load": (fp["load"], fc["load"]),
    }
    out = [
        {
            "mode": mode,
            "op": op,
            "shipyard": s_label,
            "shipyard_s": s,
            "dvc": d_label,
            "dvc_s": d,
            "floor_pyarrow_s": floors[op][0],
            "floor_copy_s": floors[op][1],
        }
        for mode, op, s_label, s, d_label, d in table
    ]
    peer = "DVC"
    size = f"{rows:,} x 25 Parquet file"
    differs_reg = (
        "DVC hashes the file's bytes (md5) and copies them (cache, then remote) without reading the "
        "table: no schema, no profile; Shipyard reads and canonicalises the table, re-writes it as "
        "zstd Parquet, computes its content digest, schema and full profile, and records the version"
    )
    differs_load = (
        "DVC gives the file's bytes, unparsed and not re-hashed; Shipyard returns a pyarrow.Table "
        "after verifying the blob's sha256"
    )
    heads = [
        headline(
            "register, whole process",
            ours=sp["register"],
            unit="s",
            peer=f"{peer}: dvc add + git commit + dvc push",
            theirs=total(dp, "add", "commit", "push"),
            floor=fp["register"],
            floor_name="pyarrow read_table + write_table (in process)",
            same_work=f"version the same {size} so another process can load it",
            differs=differs_reg,
        ),
        headline(
            "load, whole process",
            ours=sp["load"],
            unit="s",
            peer=f"{peer}: dvc get",
            theirs=total(dp, "get"),
            floor=fp["load"],
            floor_name="pyarrow read_table (in process)",
            same_work=f"a new process fetches version 1 of the {size} from the store/remote",
            differs=differs_load + "; dvc get clones the git repository first",
        ),
        headline(
            "register, in process",
            ours=sa["register"],
            unit="s",
            peer=f"{peer}: Repo.add + scm commit + Repo.push",
            theirs=total(da, "add", "commit", "push"),
            floor=fp["register"],
            floor_name="pyarrow read_table + write_table",
            same_work=f"version the same {size}, store/repository already open",
            differs=differs_reg,
        ),
        headline(
            "load, in process",
            ours=sa["load"],
            unit="s",
            peer=f"{peer}: dvc.api.read + pq.read_table",
            theirs=total(da, "read", "parse"),
            floor=fp["load"],
            floor_name="pyarrow read_table",
            same_work=f"version 1 of the {size} as a pyarrow.Table in memory",
            differs="DVC reads from its local cache and does not verify the bytes; Shipyard copies the blob "
            "out of its store verifying its sha256, then reads it",
        ),
    ]
    return out, heads


def print_report(
    started: dt.datetime,
    repeat: int,
    rows: int,
    size: int,
    table: list[dict[str, Any]],
    med: dict[str, dict[str, float]],
    checked: dict[str, str],
) -> None:
    print(
        f"Shipyard datasets vs DVC, {started:%Y-%m-%d %H:%M} UTC, median of {repeat}; {rows:,} rows x 25 columns, "
        f"a {size / 1e6:.1f} MB Parquet file; Python {platform.python_version()}, {os.cpu_count()} CPUs\n"
    )

    def ratio(a: float | None, b: float | None) -> str:
        return f"{a / b:.2f}x" if a and b else ""

    header = ("", "op", "Shipyard", "s", "DVC", "s", "DVC/Shipyard", "Shipyard/pyarrow floor", "DVC/copy floor")
    lines = [header]
    for r in table:
        s, d = r["shipyard_s"], r["dvc_s"]
        lines.append(
            (
                r["mode"],
                r["op"],
                r["shipyard"],
                h.format_seconds(s) if s else "",
                r["dvc"],
                h.format_seconds(d),
                ratio(d, s),
                ratio(s, r["floor_pyarrow_s"]),
                ratio(d, r["floor_copy_s"]),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for n, line in enumerate(lines):
        print(" | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))
        if n == 0:
            print("-+-".join("-" * w for w in widths))
    fp, fc, fmt = med["floor_pyarrow"], med["floor_copy"], h.format_seconds
    print(
        f"\nfloors: pyarrow read_table + write_table {fmt(fp['register'])}, read_table {fmt(fp['load'])}; "
        f"copy + md5 {fmt(fc['register'])}, copy + sha256 {fmt(fc['register_sha256'])}, copy {fmt(fc['load'])}"
    )
    sa = med["shipyard_api"]
    print(
        f"Shipyard's load, each half alone: blob copied out of the store, sha256 checked {fmt(sa['load_download'])}, "
        f"read_dataset of the copy {fmt(sa['load_read'])}"
    )
    print(f"process start: python -c 'import shipyard, pyarrow.parquet' {fmt(med['shipyard_process']['start'])}")
    print("DVC/Shipyard above 1: Shipyard faster. Each side gives:")
    for op, sides in GIVES.items():
        for side, text in sides.items():
            print(f"- {op}, {side}: {text}")
    for key, value in checked.items():
        print(f"- {key}: {value}")


if __name__ == "__main__":
    main()
