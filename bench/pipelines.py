"""Pipelines benchmark: Shipyard beside Metaflow and beside the floor (plain calls, a fork pool), in one run.

    .venv/bin/python bench/pipelines.py [--repeat N] [--quick] [--skip-metaflow] [--skip-ray] [--skip-cli]

Compares whole processes with whole processes: ``python -m shipyard.cli pipeline run`` against Metaflow's
``python flow.py run`` (a cold 20-step chain, a cold 200-step fan-out/fan-in) and Shipyard's cached re-run
against Metaflow's ``resume``. Shipyard's in-process figures (the API called in this process: a cached
re-run, the fan on the local executor and on Ray) are extra rows with no peer ratio, since Metaflow has
nothing in-process to set beside them. The floor is the same functions called in-process, a bare
``ProcessPoolExecutor(2)`` and bare interpreters. Prints one table (medians, ratios, targets met/missed)
and writes the figures and the headlines (``bench/_headlines.py``) to
``bench/results/pipelines-<timestamp>.json``. Metaflow runs in its own virtualenv, ``bench/.venv-metaflow``,
created with ``pip install metaflow`` on first use. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import importlib.util
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _harness as h
from _headlines import headline

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
WORKLOAD = BENCH / "_pipelines_workload.py"
METAFLOW_FAN = BENCH / "_metaflow_fan.py"
METAFLOW_CHAIN = BENCH / "_metaflow_chain.py"
METAFLOW_VENV = BENCH / ".venv-metaflow"
METAFLOW_STAMP = METAFLOW_VENV / ".installed-stamp"

WORKERS = 2  # steps at once, on every side (Shipyard's workers=, Metaflow's --max-workers, the pool's size)
FAN_STEPS = 200  # 1 source + 100 leaves + 99 pair steps
CHAIN_STEPS = 20
METAFLOW_FAN_ITEMS = FAN_STEPS - 3  # start + 197 foreach tasks + join + end = 200 tasks
IN_PROCESS_CALLS = 20  # an in-process floor measurement is the median of this many calls (microseconds each)
INTERPRETER_CALLS = 5  # one measurement of a bare interpreter's start is the median of this many


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def median(samples: list[float] | None) -> float | None:
    return statistics.median(samples) if samples else None


def short(exc: BaseException) -> str:
    return (f"{type(exc).__name__}: {exc}".splitlines() or [""])[0][:300]


# --- the floor -----------------------------------------------------------------------------------------
def trivial(i: int) -> int:
    return i + 1


def floor_in_process(fn: Callable[[], int], expected: int) -> Callable[[Path], float]:
    def measure(_tmp: Path) -> float:
        assert fn() == expected
        return h.median_of_calls(fn, IN_PROCESS_CALLS)

    return measure


def floor_fork_pool(_tmp: Path) -> float:
    """200 trivial calls through ProcessPoolExecutor(2) with forked workers, starting and stopping the pool."""
    context = multiprocessing.get_context("fork")
    t0 = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(WORKERS, mp_context=context) as pool:
        results = list(pool.map(trivial, range(FAN_STEPS)))
    elapsed = time.perf_counter() - t0
    assert results == [i + 1 for i in range(FAN_STEPS)]
    return elapsed


def floor_interpreter_per_step(_tmp: Path) -> float:
    """200 new Python processes (``python -c pass``), two at a time: the floor of a process-per-task runtime."""
    command = [sys.executable, "-c", "pass"]
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda _i: subprocess.run(command, check=True), range(FAN_STEPS)))
    return time.perf_counter() - t0


def floor_interpreter_once(_tmp: Path) -> float:
    """One new Python process doing nothing (``python -c pass``): the floor of any whole-process run."""
    command = [sys.executable, "-c", "pass"]
    return h.median_of_calls(lambda: subprocess.run(command, check=True), INTERPRETER_CALLS)


def run_floor(repeat: int, workload: Any) -> dict[str, list[float]]:
    log("floor ...")
    h.repeat(floor_fork_pool, 1)  # warm-up, discarded
    return {
        "chain_in_process": h.repeat(floor_in_process(workload.chain_in_process, CHAIN_STEPS), repeat),
        "fan_in_process": h.repeat(floor_in_process(workload.fan_in_process, workload.fan_expected()), repeat),
        "fork_pool": h.repeat(floor_fork_pool, repeat),
        "interpreter_per_step": h.repeat(floor_interpreter_per_step, repeat),
        "interpreter_once": h.repeat(floor_interpreter_once, repeat),
    }


# --- Shipyard ------------------------------------------------------------------------------------------
def import_shipyard() -> tuple[Any, Any, Any, Any]:
    """``shipyard``, the workload's ``fan`` and ``chain`` pipelines (loaded by path) and its module."""
    sys.path.insert(0, str(REPO / "src"))  # benchmark this checkout, installed or not
    try:
        import shipyard as sy
        from shipyard.pipelines.loader import load_pipeline

        fan = load_pipeline(f"{WORKLOAD}:fan")
        chain = load_pipeline(f"{WORKLOAD}:chain")
    except Exception as exc:  # any failure here means there is nothing to measure
        sys.exit(
            f"error: cannot use Shipyard's pipelines ({short(exc)}).\n"
            "Run `make setup` (or `pip install -e .`) from the repository root."
        )
    workload = sys.modules[fan.fn.__module__]
    assert workload.fan_steps() == FAN_STEPS and workload.CHAIN_LENGTH == CHAIN_STEPS
    return sy, fan, chain, workload


class ShipyardWorkload:
    """The public API, a fresh store in a fresh temporary directory per measurement, settings as users get them."""

    def __init__(self, sy: Any, fan: Any, chain: Any, workload: Any) -> None:
        self.sy, self.fan, self.chain, self.workload = sy, fan, chain, workload
        self.one_step_rerun: list[float] = []  # a cached 1-step pipeline: the fixed cost of any run
        self.fill: list[float] = []  # the untimed first run of the chain, for the record
        self.breakdown: dict[str, list[dict[str, float]]] = {}  # executor -> per measurement

    def client(self, tmp: Path) -> Any:
        return self.sy.Client(str(tmp / ".shipyard"))

    def warm_up(self, tmp: Path) -> float:
        """Pay the process's one-time costs (lazy imports, the first worker fork) before anything is timed."""
        client = self.client(tmp)
        try:
            for _ in range(2):
                assert self.chain.run(params={"length": 3}, workers=WORKERS, client=client).status.value == "finished"
            run = self.fan.run(params={"leaves": 4}, workers=WORKERS, cache=False, client=client)
            assert run.status.value == "finished"
        finally:
            client.close()
        return 0.0

    def cached_rerun(self, tmp: Path) -> float:
        """Run the 20-step chain once (fills the cache, untimed), then time a re-run where every step is a hit."""
        client = self.client(tmp)
        try:
            t0 = time.perf_counter()
            first = self.chain.run(workers=WORKERS, client=client)
            self.fill.append(time.perf_counter() - t0)
            assert first.status.value == "finished" and len(first.steps) == CHAIN_STEPS
            t0 = time.perf_counter()
            run = self.chain.run(workers=WORKERS, client=client)
            elapsed = time.perf_counter() - t0
            assert run.status.value == "finished" and [s.status.value for s in run.steps] == ["cached"] * CHAIN_STEPS
            assert run.result == CHAIN_STEPS
            # chain(length=1) is the chain's first node alone, also cached now: what a run costs besides its steps
            t0 = time.perf_counter()
            one = self.chain.run(params={"length": 1}, workers=WORKERS, client=client)
            self.one_step_rerun.append(time.perf_counter() - t0)
            assert [s.status.value for s in one.steps] == ["cached"]
        finally:
            client.close()
        return elapsed

    def fan_run(self, executor: str) -> Callable[[Path], float]:
        def measure(tmp: Path) -> float:
            client = self.client(tmp)
            try:
                called, t0 = time.time(), time.perf_counter()
                run = self.fan.run(executor=executor, workers=WORKERS, cache=False, client=client)
                elapsed, returned = time.perf_counter() - t0, time.time()
                statuses = [s.status.value for s in run.steps]
                if run.status.value != "finished" or statuses != ["finished"] * FAN_STEPS:
                    failed = run.failed_steps[0] if run.failed_steps else None
                    detail = f"; {failed.node}: {(failed.error or '').strip().splitlines()[-1:]}" if failed else ""
                    raise RuntimeError(f"the fan pipeline ended {run.status.value}{detail}")
                assert run.result == self.workload.fan_expected()
                in_steps = [s.duration_ms for s in run.steps if s.duration_ms is not None]
                self.breakdown.setdefault(executor, []).append(
                    {
                        "wall_s": elapsed,
                        "steps_recorded_sum_s": sum(in_steps) / 1000,
                        "step_recorded_median_ms": statistics.median(in_steps),
                        "first_step_started_after_s": min(s.started_at for s in run.steps) / 1000 - called,
                        "returned_after_last_step_s": returned - max(s.ended_at for s in run.steps) / 1000,
                    }
                )
            finally:
                client.close()
            return elapsed

        return measure


def run_shipyard(side: ShipyardWorkload, repeat: int) -> dict[str, list[float]]:
    h.repeat(side.warm_up, 1)  # discarded
    log("shipyard: cached re-run of the 20-step chain ...")
    results = {"rerun": h.repeat(side.cached_rerun, repeat, progress=lambda m: log(f"  shipyard: {m}"))}
    log(f"shipyard: {FAN_STEPS}-step fan-out/fan-in, local executor, cache off ...")
    results["fan_local"] = h.repeat(side.fan_run("local"), repeat, progress=lambda m: log(f"  shipyard: {m}"))
    return results


def cli(tmp: Path, *args: str) -> tuple[float, Any]:
    """Seconds of one ``shipyard`` command in ``tmp`` (a new process: interpreter, imports, run), and its JSON."""
    paths = [str(REPO / "src"), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}  # the store in tmp, nothing else
    env["PYTHONPATH"] = os.pathsep.join(paths)  # benchmark this checkout, as in this process
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "shipyard.cli", *args, "--json"], cwd=tmp, env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"`shipyard {' '.join(args)}` exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return elapsed, json.loads(done.stdout)


def cli_chain(cold: list[float]) -> Callable[[Path], float]:
    """On a new store: the chain's first run (cold, nothing cached; appended to ``cold``), then its re-run
    (every step a cache hit; returned). Each is one new ``shipyard`` process."""

    def measure(tmp: Path) -> float:
        cli(tmp, "init")
        target = f"{WORKLOAD}:chain"
        elapsed, out = cli(tmp, "pipeline", "run", target, "--workers", str(WORKERS))
        assert out["status"] == "finished" and out["step_counts"] == {"finished": CHAIN_STEPS}, out["step_counts"]
        cold.append(elapsed)
        elapsed, out = cli(tmp, "pipeline", "run", target, "--workers", str(WORKERS))
        assert out["status"] == "finished" and out["step_counts"] == {"cached": CHAIN_STEPS}, out["step_counts"]
        return elapsed

    return measure


def cli_fan(tmp: Path) -> float:
    cli(tmp, "init")
    elapsed, out = cli(tmp, "pipeline", "run", f"{WORKLOAD}:fan", "--workers", str(WORKERS), "--no-cache")
    assert out["status"] == "finished" and out["step_counts"] == {"finished": FAN_STEPS}, out["step_counts"]
    return elapsed


def run_cli(repeat: int) -> dict[str, list[float]]:
    log("shipyard CLI: the chain cold, then re-run cached; the fan with --no-cache (each a new process) ...")
    h.repeat(cli_chain([]), 1)  # warm-up, discarded (the OS's file cache), as Metaflow's untimed first run
    cold: list[float] = []
    rerun = h.repeat(cli_chain(cold), repeat, progress=lambda m: log(f"  shipyard cli re-run: {m}"))
    return {
        "cli_chain_cold": cold,
        "cli_rerun": rerun,
        "cli_fan": h.repeat(cli_fan, repeat, progress=lambda m: log(f"  shipyard cli fan: {m}")),
    }


def run_ray(side: ShipyardWorkload, repeat: int) -> dict[str, Any]:
    """The fan on ``executor="ray"``, Ray started once beforehand (timed apart). ``unavailable`` says why not."""
    try:
        spec = importlib.util.find_spec("shipyard.pipelines.executors.ray")
    except Exception as exc:
        spec, missing = None, short(exc)
    else:
        missing = "shipyard.pipelines.executors.ray does not exist yet"
    if spec is None:
        return {"unavailable": missing}
    try:
        import ray
    except Exception as exc:
        return {"unavailable": f"cannot import ray ({short(exc)})"}
    result: dict[str, Any] = {"version": ray.__version__}
    try:
        log("ray: starting (ray.init, 2 CPUs) ...")
        t0 = time.perf_counter()
        ray.init(num_cpus=WORKERS, include_dashboard=False, log_to_driver=False)
        result["startup_s"] = time.perf_counter() - t0
        log(f"  ray: started in {h.format_seconds(result['startup_s'])}; first run (untimed warm-up) ...")
        result["first_run_s"] = h.repeat(side.fan_run("ray"), 1)[0]
        log(f"  ray: first run took {h.format_seconds(result['first_run_s'])}")
        result["fan_ray"] = h.repeat(side.fan_run("ray"), repeat, progress=lambda m: log(f"  ray: {m}"))
    except Exception as exc:
        result["unavailable"] = short(exc)
    finally:
        if ray.is_initialized():
            ray.shutdown()
    return result


# --- Metaflow ------------------------------------------------------------------------------------------
def metaflow_python() -> Path:
    """bench/.venv-metaflow's python; the virtualenv is created and Metaflow installed on first use."""
    python = METAFLOW_VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if METAFLOW_STAMP.exists() and python.exists():
        return python
    log(f"Installing Metaflow into {METAFLOW_VENV.relative_to(REPO)} (first run only; about a minute) ...")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(METAFLOW_VENV)], check=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "metaflow"], check=True)
    version = subprocess.run(
        [python, "-c", "import metaflow; print(metaflow.__version__)"], check=True, capture_output=True, text=True
    ).stdout.strip()
    METAFLOW_STAMP.write_text(f"metaflow=={version}\n")
    return python


class MetaflowWorkload:
    """``python flow.py run`` as a user types it, timed from outside; local metadata and datastore in ``tmp``."""

    def __init__(self, python: Path) -> None:
        self.python = python
        self.resume: list[float] = []

    def env(self, tmp: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("METAFLOW_")}
        env.update(
            METAFLOW_HOME=str(tmp / "metaflow-home"),  # no ~/.metaflowconfig: the local defaults
            METAFLOW_DATASTORE_SYSROOT_LOCAL=str(tmp / "datastore"),
            METAFLOW_DEFAULT_METADATA="local",
            METAFLOW_DEFAULT_DATASTORE="local",
            BENCH_FAN_ITEMS=str(METAFLOW_FAN_ITEMS),
        )
        if not env.get("USERNAME") and not env.get("USER"):
            env["USERNAME"] = "shipyard-bench"  # Metaflow refuses to run without a user name
        return env

    def flow(self, tmp: Path, flow: Path, *args: str) -> float:
        command = [str(self.python), str(flow), "--no-pylint", *args]
        output = tmp / "metaflow-output.txt"
        with output.open("w") as sink:
            t0 = time.perf_counter()
            done = subprocess.run(command, cwd=tmp, env=self.env(tmp), stdout=sink, stderr=subprocess.STDOUT)
            elapsed = time.perf_counter() - t0
        if done.returncode != 0:
            tail = " | ".join(output.read_text().strip().splitlines()[-5:])
            raise RuntimeError(f"`{flow.name} {' '.join(args)}` exited {done.returncode}: {tail[-600:]}")
        return elapsed

    def chain(self, tmp: Path) -> float:
        """A cold run of the 20-step flow, then ``resume`` of its last step (appended to ``self.resume``)."""
        ids = tmp / "run-id"
        elapsed = self.flow(tmp, METAFLOW_CHAIN, "run", "--max-workers", str(WORKERS), "--run-id-file", str(ids))
        origin = ids.read_text().strip()
        self.resume.append(
            self.flow(tmp, METAFLOW_CHAIN, "resume", "--origin-run-id", origin, "--max-workers", str(WORKERS), "end")
        )
        return elapsed

    def fan(self, tmp: Path) -> float:
        splits = str(max(100, METAFLOW_FAN_ITEMS))  # Metaflow refuses a foreach wider than 100 unless told
        return self.flow(tmp, METAFLOW_FAN, "run", "--max-workers", str(WORKERS), "--max-num-splits", splits)

    def import_time(self) -> float:
        """Seconds for a new process to ``import metaflow`` (what each of its tasks pays at least)."""
        t0 = time.perf_counter()
        subprocess.run([str(self.python), "-c", "import metaflow"], check=True)
        return time.perf_counter() - t0


def run_metaflow(repeat: int, quick: bool) -> dict[str, Any]:
    """``quick``: no warm-up run, and no fan-out (one run alone takes 1-2 minutes on 2 CPUs)."""
    try:
        python = metaflow_python()
        version = subprocess.run(
            [str(python), "-c", "import metaflow, platform; print(metaflow.__version__, platform.python_version())"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        side = MetaflowWorkload(python)
        if not quick:
            log(f"metaflow {version[0]}: warm-up run of the 20-step flow (untimed) ...")
            h.repeat(side.chain, 1)
            side.resume.clear()
        result: dict[str, Any] = {"version": version[0], "python": version[1]}
        log("metaflow: the 20-step flow, then `resume end` ...")
        result["chain"] = h.repeat(side.chain, repeat, progress=lambda m: log(f"  metaflow: {m}"))
        result["resume"] = side.resume
        if not quick:
            log(f"metaflow: fan-out over {METAFLOW_FAN_ITEMS} items + join (1-2 minutes per run) ...")
            result["fan"] = h.repeat(side.fan, repeat, progress=lambda m: log(f"  metaflow: {m}"))
        result["import_s"] = statistics.median(side.import_time() for _ in range(3))
    except Exception as exc:
        log(f"metaflow: unavailable ({short(exc)})")
        return {"unavailable": short(exc)}
    return result


# --- report --------------------------------------------------------------------------------------------
def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def figure(samples: list[float] | None, per: int = 1) -> dict[str, Any] | None:
    if not samples:
        return None
    values = [s / per for s in samples]
    return {"median_s": statistics.median(values), "samples_s": values}


def build_rows(ours: dict[str, list[float]], peer: dict[str, Any], floor: dict[str, list[float]]) -> list[dict]:
    fan = f"{FAN_STEPS}-step fan-out/fan-in"
    specs = [
        # key, label, ours, peer (None: no peer ratio), floor, divided by, target in seconds or None
        # Whole processes on both sides, timed from outside: the headlines.
        (
            "cold_chain",
            f"1. cold run, {CHAIN_STEPS}-step chain",
            "cli_chain_cold",
            "chain",
            "interpreter_once",
            1,
            None,
        ),
        ("cached_rerun", "2. re-run it (Metaflow: resume end)", "cli_rerun", "resume", "interpreter_once", 1, 0.5),
        ("cold_fan", f"3. cold run, {fan}", "cli_fan", "fan", "fork_pool", 1, 5.0),
        # Shipyard's API in this process: no interpreter start, no imports; nothing of Metaflow's to set beside.
        ("inproc_rerun", "4. in-process: cached re-run, chain", "rerun", None, "chain_in_process", 1, 0.5),
        ("inproc_rerun_per_step", "   per step", "rerun", None, "chain_in_process", CHAIN_STEPS, 0.02),
        ("inproc_fan_local", "5. in-process: the fan, local", "fan_local", None, "fork_pool", 1, 5.0),
        ("inproc_fan_local_per_step", "   per step", "fan_local", None, "fork_pool", FAN_STEPS, None),
        ("inproc_fan_ray", "6. in-process: the fan, Ray", "fan_ray", None, "fork_pool", 1, 5.0),
    ]
    rows = []
    for key, label, our_key, peer_key, floor_key, per, target in specs:
        figures = {
            "shipyard": figure(ours.get(our_key), per),
            "metaflow": figure(peer.get(peer_key), per) if peer_key else None,
            "floor": figure(floor.get(floor_key), per),
        }
        med = {side: (fig or {}).get("median_s") for side, fig in figures.items()}
        met = None if target is None or med["shipyard"] is None else med["shipyard"] < target
        rows.append(
            {
                "key": key,
                "figure": label.strip(),
                "in_process": peer_key is None,
                **figures,
                "metaflow_is": peer_key,
                "floor_is": floor_key,
                "metaflow_over_shipyard": ratio(med["metaflow"], med["shipyard"]),
                "shipyard_over_floor": ratio(med["shipyard"], med["floor"]),
                "target": None if target is None else f"<{target * 1000:g} ms" if target < 1 else f"<{target:g} s",
                "target_met": met,
                "_label": label,
            }
        )
    return rows


HEADLINES = {
    # row key: (name, same work, what differs)
    "cold_chain": (
        f"cold run of a {CHAIN_STEPS}-step chain, whole process",
        f"a new process runs {CHAIN_STEPS} trivial steps in a line on an empty store / datastore, nothing cached, "
        f"{WORKERS} workers: `python -m shipyard.cli pipeline run _pipelines_workload.py:chain --json` vs "
        "`python _metaflow_chain.py run --max-workers 2`, timed from outside",
        "Metaflow starts a new Python process per task; Shipyard forks workers from its one process",
    ),
    "cached_rerun": (
        f"re-run of the {CHAIN_STEPS}-step chain, whole process",
        f"a new process re-runs the chain after a first run on the same store: Shipyard's CLI with every step a "
        f"cache hit vs Metaflow's `resume --origin-run-id <run> end` (its nearest to a cache: clones the "
        f"{CHAIN_STEPS - 1} earlier steps' results)",
        "Metaflow's resume runs `end` again (a new process); Shipyard's cache serves all 20 steps",
    ),
    "cold_fan": (
        f"cold run of a {FAN_STEPS}-step fan-out/fan-in, whole process",
        f"a new process runs {FAN_STEPS} trivial steps, {WORKERS} at a time, cache off: `shipyard pipeline run "
        f"...:fan --no-cache` vs `python _metaflow_fan.py run --max-workers 2`",
        f"shapes: Shipyard 1 source -> 100 leaves -> a 99-step reduction tree; Metaflow start -> foreach over "
        f"{METAFLOW_FAN_ITEMS} -> join -> end (each tool's way to fan in); Metaflow starts a process per task",
    ),
}


def build_headlines(rows: list[dict[str, Any]], metaflow_version: str | None) -> list[dict[str, Any]]:
    floor_names = {
        "interpreter_once": "a bare interpreter (`python -c pass`)",
        "fork_pool": f"ProcessPoolExecutor({WORKERS}), fork, {FAN_STEPS} trivial calls",
    }
    out = []
    for row in rows:
        if row["key"] not in HEADLINES or row["shipyard"] is None:
            continue
        name, same_work, differs = HEADLINES[row["key"]]
        out.append(
            headline(
                name,
                ours=row["shipyard"]["median_s"],
                unit="s",
                same_work=same_work,
                peer=f"Metaflow {metaflow_version}" if metaflow_version and row["metaflow"] else None,
                theirs=row["metaflow"]["median_s"] if row["metaflow"] else None,
                floor=row["floor"]["median_s"] if row["floor"] else None,
                floor_name=floor_names[row["floor_is"]],
                target="-" if row["target"] is None else f"{row['target']} (whole process)",
                met=row["target_met"],
                differs=differs,
            )
        )
    return out


def format_table(rows: list[dict[str, Any]], unavailable: dict[str, str]) -> str:
    def cell(row: dict[str, Any], side: str) -> str:
        fig = row[side]
        if fig is not None:
            return h.format_seconds(fig["median_s"])
        if side == "metaflow" and row["in_process"]:
            return "-"  # nothing of Metaflow's runs in-process: no peer figure, no ratio
        if side == "shipyard" and row["key"] == "inproc_fan_ray" and "ray" in unavailable:
            return "unavailable"
        return "unavailable" if side in unavailable else "-"

    def times(x: float | None) -> str:
        return "-" if x is None else f"{x:,.1f}x" if x < 100 else f"{x:,.0f}x"

    def verdict(row: dict[str, Any]) -> str:
        if row["target"] is None:
            return "-"
        return f"{row['target']}: {({True: 'met', False: 'MISSED', None: 'n/a'})[row['target_met']]}"

    header = ("figure", "shipyard", "metaflow", "floor", "metaflow/shipyard", "shipyard/floor", "target")
    body = [
        (
            row["_label"],
            cell(row, "shipyard"),
            cell(row, "metaflow"),
            cell(row, "floor"),
            times(row["metaflow_over_shipyard"]),
            times(row["shipyard_over_floor"]),
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


def main() -> None:
    parser = argparse.ArgumentParser(description="Shipyard vs Metaflow vs the floor on pipeline runs.")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per figure; the median is shown")
    parser.add_argument(
        "--quick", action="store_true", help="1 repeat, no Metaflow warm-up or fan-out (1-2 minutes alone)"
    )
    parser.add_argument("--skip-metaflow", action="store_true", help="measure Shipyard and the floor only")
    parser.add_argument("--skip-ray", action="store_true", help="leave out the Ray executor")
    parser.add_argument("--skip-cli", action="store_true", help="leave out the `shipyard pipeline run` figures")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    if repeat < 1:
        parser.error("--repeat must be at least 1")
    started, wall0 = dt.datetime.now(dt.UTC), time.perf_counter()

    sy, fan, chain, workload = import_shipyard()
    versions: dict[str, str] = {"python": platform.python_version(), "shipyard": getattr(sy, "__version__", "?")}
    unavailable: dict[str, str] = {}

    floor = run_floor(repeat, workload)
    side = ShipyardWorkload(sy, fan, chain, workload)
    ours = run_shipyard(side, repeat)
    if not args.skip_cli:
        ours.update(run_cli(repeat))
    peer: dict[str, Any] = {}
    if args.skip_metaflow:
        unavailable["metaflow"] = "skipped (--skip-metaflow)"
    else:
        peer = run_metaflow(repeat, args.quick)
        if "unavailable" in peer:
            unavailable["metaflow"] = peer["unavailable"]
        else:
            versions.update(metaflow=peer["version"], metaflow_python=peer["python"])
    ray_info: dict[str, Any] = {"unavailable": "skipped (--skip-ray)"} if args.skip_ray else run_ray(side, repeat)
    if "version" in ray_info:
        versions["ray"] = ray_info["version"]
    if "unavailable" in ray_info:
        unavailable["ray"] = ray_info["unavailable"]
    else:
        ours["fan_ray"] = ray_info["fan_ray"]

    rows = build_rows(ours, peer, floor)
    headlines = build_headlines(rows, versions.get("metaflow"))
    wall = time.perf_counter() - wall0

    fixed = median(side.one_step_rerun)
    rerun = median(ours["rerun"])
    notes = [
        f"shapes: Shipyard `fan` = 1 source -> {workload.FAN_LEAVES} leaves -> a binary tree of "
        f"{workload.FAN_LEAVES - 1} `pair` steps summing them = {FAN_STEPS} steps (a step parameter takes one "
        f"output, so fan-in is a tree); Metaflow = start -> foreach over {METAFLOW_FAN_ITEMS} -> join -> end = "
        f"{FAN_STEPS} tasks. `chain` = {CHAIN_STEPS} steps in a line on both sides. Every step is trivial "
        f"integer arithmetic; {WORKERS} at a time on every side (workers={WORKERS}, --max-workers {WORKERS}).",
        "1-3 (the headlines): whole processes on both sides, timed from outside: `python -m shipyard.cli "
        "pipeline run ... --json` (interpreter, imports, environment capture, the run, printing) against "
        "Metaflow's `python flow.py run` / `resume`. Cold = the first run on a new store / datastore.",
        f"2: Shipyard's second CLI run on the same store, every step a cache hit; Metaflow has no cache across "
        f"runs, so its nearest thing is `resume --origin-run-id <run> end`: it clones the {CHAIN_STEPS - 1} "
        "earlier steps' results and runs `end` again.",
        "4-6: Shipyard's API in this process (no interpreter start, no imports), after an untimed warm-up: no "
        "Metaflow figure and no peer ratio (Metaflow runs a flow only as processes). The targets are the issue's.",
        f"4: the untimed first in-process run took {h.format_seconds(median(side.fill))}; a cached 1-step pipeline "
        f"re-runs in {h.format_seconds(fixed)} (the fixed cost of a run: build, parent run, records), so each "
        "further cached step adds "
        f"{h.format_seconds(None if fixed is None or rerun is None else (rerun - fixed) / (CHAIN_STEPS - 1))}.",
        "5-6: the steps' own work is the in-process floor below (microseconds), so Shipyard's wall time is its "
        "scheduling overhead. Floor column: rows 1-2 = a bare interpreter (`python -c pass`); row 4 = the 20 "
        f"functions called in-process; rows 3, 5, 6 = ProcessPoolExecutor({WORKERS}) (fork) mapping {FAN_STEPS} "
        "trivial calls, pool start and stop included.",
    ]
    if args.quick and peer and "unavailable" not in peer:
        notes.append("--quick: Metaflow's untimed warm-up run and its fan-out (row 3) were skipped.")
    if args.skip_cli:
        notes.append("--skip-cli: rows 1-3 (the whole-process headlines) have no Shipyard figure.")
    for executor, runs in side.breakdown.items():
        recorded = statistics.median(r["steps_recorded_sum_s"] for r in runs)
        per_step = statistics.median(r["step_recorded_median_ms"] for r in runs)
        notes.append(
            f"fan on {executor}: the steps' records (worker start to end of each step, including its run's "
            f"bookkeeping) add up to {recorded:.2f} s, median {per_step:.0f} ms per step; the rest of the wall "
            "time is the coordinator (readiness, cache keys, node records, pickling, dispatch)."
        )
    if "startup_s" in ray_info:
        notes.append(
            f"ray: ray.init(num_cpus={WORKERS}) took {h.format_seconds(ray_info['startup_s'])} (not in row 6); the "
            f"first run on the fresh cluster took {h.format_seconds(ray_info.get('first_run_s'))} (discarded)."
        )
    if "import_s" in peer:
        notes.append(
            f"metaflow runs each task as a new Python process; `import metaflow` alone takes "
            f"{h.format_seconds(peer['import_s'])} in a new process."
        )
    floors = {
        f"{CHAIN_STEPS} calls in-process": median(floor["chain_in_process"]),
        f"{FAN_STEPS} calls in-process (the fan's functions)": median(floor["fan_in_process"]),
        f"{FAN_STEPS} calls, ProcessPoolExecutor({WORKERS}), fork": median(floor["fork_pool"]),
        f"{FAN_STEPS} new interpreters (`python -c pass`), {WORKERS} at a time": median(floor["interpreter_per_step"]),
        "one new interpreter (`python -c pass`)": median(floor["interpreter_once"]),
    }

    print(
        f"Shipyard pipelines benchmark, {started:%Y-%m-%d %H:%M} UTC, median of {repeat} "
        f"measurement{'s' if repeat > 1 else ''}\n"
        f"Python {versions['python']}, Shipyard {versions['shipyard']}; "
        f"{'Metaflow ' + versions['metaflow'] if 'metaflow' in versions else 'Metaflow not run'}; "
        f"{'Ray ' + versions['ray'] if 'ray' in versions else 'Ray not run'}; "
        f"{platform.platform()}, {os.cpu_count()} CPUs\n"
    )
    print(format_table(rows, unavailable))
    print()
    print("floors: " + "; ".join(f"{label}: {h.format_seconds(value)}" for label, value in floors.items()))
    for name, reason in unavailable.items():
        print(f"{name}: unavailable ({reason})")
    print()
    for note in notes:
        print(f"- {note}")
    print(f"- wall time of this benchmark: {wall:.0f} s")

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"pipelines-{started:%Y%m%dT%H%M%SZ}.json"
    report = {
        "started": started.isoformat(),
        "args": {"repeat": repeat, "quick": args.quick, "workers": WORKERS},
        "versions": versions,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "figures": [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows],
        "headlines": headlines,
        "floors_s": {key: {"median_s": median(v), "samples_s": v} for key, v in floor.items()},
        "shipyard_extra": {
            "chain_first_run_s": side.fill,
            "one_step_cached_rerun_s": side.one_step_rerun,
            "fan_breakdown": side.breakdown,
        },
        "metaflow_extra": {k: v for k, v in peer.items() if k not in ("chain", "resume", "fan")},
        "ray": {k: v for k, v in ray_info.items() if k != "fan_ray"},
        "unavailable": unavailable,
        "notes": notes,
        "wall_time_s": wall,
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"- figures written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
