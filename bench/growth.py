"""How the cost of reading grows with the data: search and the runs page over 10k-1M runs, metric history
over 100k-10M points, on SQLite and PostgreSQL. Curves, not points.

    .venv/bin/python bench/growth.py --phase populate            # outside the bench lock: builds the stores
    flock /tmp/shipyard-bench.lock .venv/bin/python bench/growth.py --phase measure
    .venv/bin/python bench/growth.py --quick                     # both phases, up to 100k runs / 100k points

What is timed (through ``sy.Client``, the public API), per store size:

- ``search``: ``search_runs(project, "metrics.auc > 0.9", order_by=["metrics.auc DESC"], max_results=100)``
- ``page_first``: the runs page, ``search_runs(project, max_results=100)`` (newest first)
- ``page_deep``: the same with the page token of the page halfway down the list
- ``history``: ``get_metric_history(run_id, "loss")`` of a run with 100k, 1M, 10M points, read whole
- ``downsampled``: ``get_metric_history(run_id, "loss", max_points=1000)`` of the same runs: what a chart reads
  (first and last point, and per bucket of steps the lowest and highest, chosen in the database)

The stores are filled fast, and it says how: one real run through the API (``start_run``, ``log_metric``,
``log_param``), then its rows copied by bulk SQL into the same tables with only the id, name, times and
values changed (the API would take hours at 1M runs on PostgreSQL); metric history through the store's own
``write`` (what ``Run.flush`` calls) in batches of 100,000 points. A read back checks that a copied run reads
exactly as the real one, and that search returns the expected runs. Results land in
``bench/results/growth-<UTC>.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import json
import math
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(BENCH))

import sqlalchemy as sa  # noqa: E402

import shipyard as sy  # noqa: E402
from _harness import format_seconds  # noqa: E402
from _headlines import headline  # noqa: E402
from shipyard.core.entities import Metric  # noqa: E402
from shipyard.store import _history, _search  # noqa: E402
from shipyard.store.schema import latest_metrics, metrics, params, runs, tags  # noqa: E402

PROJECT = "growth"
RUN_SIZES = [10_000, 100_000, 1_000_000]
POINT_SIZES = [100_000, 1_000_000, 10_000_000]
QUICK_RUN_SIZES = [10_000, 100_000]
QUICK_POINT_SIZES = [10_000, 100_000]  # make bench-quick: every row of the full run, at a tenth of the size
QUERIES = ("search", "page_first", "page_deep", "page_deep_offset")
SEARCH_FILTER = "metrics.auc > 0.9"
SEARCH_ORDER = ["metrics.auc DESC"]
PAGE = 100
TARGET_MS = 50.0  # search p50 at 1M runs, on each backend
DOWNSAMPLE = 1000  # max_points of the chart read
CLIFF = 2.0  # history: per-point cost at the largest size at most this many times that at the smallest
WRITE_BATCH = 100_000
POSTGRES_URL = os.environ.get("SHIPYARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DEFAULT_DATA = Path(tempfile.gettempdir()) / "shipyard-growth"
BACKENDS = ("sqlite", "postgres")
COPIED_TABLES = (runs, params, tags, metrics, latest_metrics)


def log(message: str) -> None:
    print(f"[{dt.datetime.now(dt.UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# --- the data --------------------------------------------------------------------------------------------
def auc(i: int) -> float:
    """Run ``i``'s auc: pseudo-random in [0, 1), about 10 % above 0.9, the same for every store size."""
    return random.Random(i * 7919 + 13).random()


def penalty(i: int) -> str:
    return "l1" if i % 2 else "l2"


def expected_top(n: int) -> list[str]:
    ranked = sorted(((auc(i), i) for i in range(n) if auc(i) > 0.9), reverse=True)
    return [f"r{i}" for _, i in ranked[:PAGE]]


def loss(step: int) -> float:
    return 1.0 / (1.0 + 0.001 * step) + 0.01 * ((step * 2654435761) % 1000) / 1000


# --- where the stores live -------------------------------------------------------------------------------
def store_uri(backend: str, state: dict[str, Any], name: str) -> str:
    if backend.startswith("sqlite"):
        return str(Path(state["data"]) / name / ".shipyard")
    schema = f"{state['pg_prefix']}_{name}"
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"


def pg_admin() -> sa.Engine:
    return sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


def make_store(backend: str, state: dict[str, Any], name: str) -> sy.Client:
    if backend == "sqlite":
        shutil.rmtree(Path(state["data"]) / name, ignore_errors=True)
    else:
        schema = f"{state['pg_prefix']}_{name}"
        with pg_admin().connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    return open_client(backend, state, name)


def open_client(backend: str, state: dict[str, Any], name: str) -> sy.Client:
    artifacts = Path(state["data"]) / name / "artifacts"
    return sy.Client(store_uri(backend, state, name), artifacts=str(artifacts), cwd=state["data"])


def drop_stores(state: dict[str, Any]) -> None:
    if "postgres" in state["backends"]:
        with pg_admin().connect() as conn:
            for name in state["stores"].get("postgres", {}):
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{state["pg_prefix"]}_{name}" CASCADE'))
    shutil.rmtree(state["data"], ignore_errors=True)


# --- populating ------------------------------------------------------------------------------------------
def populate_runs(backend: str, state: dict[str, Any], n: int) -> dict[str, Any]:
    """``n`` runs in one project: run 0 through the API, runs 1..n-1 as copies of its rows (bulk SQL)."""
    name = f"runs{n}"
    client = make_store(backend, state, name)
    t0 = time.perf_counter()
    with client.start_run(project=PROJECT, name="r0") as run:
        run.log_metric("auc", auc(0))
        run.log_param("penalty", penalty(0))
    template = read_rows(client, run.id)
    engine = client.backend.store.engine
    base = template["runs"][0]["start_time"]
    rng = random.Random(n)

    def vary(table: str, row: dict[str, Any], i: int, run_id: str) -> dict[str, Any]:
        new = dict(row, run_id=run_id) if table != "runs" else dict(row)
        start = base - (n - i) * 1000  # a second apart, all older than the real run
        if table == "runs":
            new.update(id=run_id, name=f"r{i}", start_time=start, end_time=start + 500, heartbeat_at=start + 500)
        elif table == "params" and row["key"] == "penalty":
            new["value"] = penalty(i)
        elif table in ("metrics", "latest_metrics") and row["key"] == "auc":
            new.update(value=auc(i), timestamp=start + 250)
        if table == "metrics":
            del new["id"]  # the database numbers history rows itself
        return new

    def copies() -> Iterator[tuple[str, list[dict[str, Any]]]]:
        chunk: dict[str, list[dict[str, Any]]] = {t.name: [] for t in COPIED_TABLES}
        for i in range(1, n):
            start = base - (n - i) * 1000
            run_id = f"{start:012x}{rng.getrandbits(80):020x}"
            for table in COPIED_TABLES:
                chunk[table.name] += [vary(table.name, row, i, run_id) for row in template[table.name]]
            if i % 50_000 == 0 or i == n - 1:
                for table in COPIED_TABLES:
                    yield table.name, chunk[table.name]
                chunk = {t.name: [] for t in COPIED_TABLES}

    bulk_insert(engine, copies())
    took = time.perf_counter() - t0
    check = check_runs(client, run.id, n)
    client.close()
    log(f"{backend}: {n:,} runs in {took:.1f} s; read back: {check}")
    return {"name": name, "runs": n, "populate_s": took, "template_run": run.id, "read_back": check}


def read_rows(client: sy.Client, run_id: str) -> dict[str, list[dict[str, Any]]]:
    with client.backend.store.engine.connect() as conn:
        return {
            t.name: [dict(r._mapping) for r in conn.execute(sa.select(t).where(t.c.run_id == run_id))]
            if t is not runs
            else [dict(r._mapping) for r in conn.execute(sa.select(t).where(t.c.id == run_id))]
            for t in COPIED_TABLES
        }


def bulk_insert(engine: sa.Engine, chunks: Iterator[tuple[str, list[dict[str, Any]]]]) -> None:
    """One transaction; executemany on SQLite, COPY on PostgreSQL, then VACUUM ANALYZE there (as autovacuum would)."""
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        cur = driver.cursor()  # type: ignore[union-attr]
        if engine.dialect.name == "sqlite":
            cur.execute("BEGIN")
        for table, rows in chunks:
            if not rows:
                continue
            columns = list(rows[0])
            quoted = ", ".join(f'"{c}"' for c in columns)
            if engine.dialect.name == "sqlite":
                marks = ", ".join("?" * len(columns))
                cur.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({marks})", [tuple(r.values()) for r in rows])
            else:
                with cur.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(tuple(row.values()))
        if engine.dialect.name == "sqlite":
            cur.execute("COMMIT")  # no ANALYZE: Shipyard never runs it; measure_runs plans with and without
        else:
            driver.commit()  # type: ignore[union-attr]
            driver.autocommit = True  # type: ignore[union-attr]
            cur.execute("VACUUM ANALYZE")
            driver.autocommit = False  # type: ignore[union-attr]
        cur.close()
    finally:
        raw.close()


def check_runs(client: sy.Client, template_id: str, n: int) -> str:
    """A copied run reads as the real one (but for id, name, times and values), and search finds the right runs."""
    page = client.search_runs(PROJECT, SEARCH_FILTER, SEARCH_ORDER, max_results=PAGE)
    if [r.name for r in page] != expected_top(n):
        raise SystemExit(f"read back failed: search over {n:,} runs returned other runs than expected")
    real, copy = client.get_run(template_id), client.get_run(page[0].id)
    skip = {"id", "name", "start_time", "end_time", "params", "metrics"}
    fields = [f for f in dataclasses.fields(real) if f.name not in skip]
    differ = [f.name for f in fields if getattr(real, f.name) != getattr(copy, f.name)]
    if differ or set(real.params) != set(copy.params) or set(real.metrics) != set(copy.metrics):
        raise SystemExit(f"read back failed: a copied run differs from the real one in {differ}")
    listing = client.search_runs(PROJECT, max_results=2)
    if listing[0].id != template_id or len(listing) != 2:
        raise SystemExit("read back failed: the runs page does not start with the newest run")
    return f"ok (a copy equals the real run in {len(fields)} fields; search returns the expected {PAGE} runs)"


def populate_history(backend: str, state: dict[str, Any], sizes: Sequence[int]) -> dict[str, Any]:
    """One run per size with that many points of ``loss``, written by the store's ``write`` in big batches."""
    client = make_store(backend, state, "history")
    store = client.backend.store
    out: dict[str, Any] = {"name": "history", "runs": {}}
    for n in sizes:
        t0 = time.perf_counter()
        with client.start_run(project=PROJECT, name=f"h{n}") as run:
            stamp = int(time.time() * 1000)
            for first in range(0, n, WRITE_BATCH):
                points = [("loss", loss(s), s, stamp + s) for s in range(first, min(n, first + WRITE_BATCH))]
                store.write(run.id, metrics_=points)
        took = time.perf_counter() - t0
        got = client.get_metric_history(run.id, "loss")
        if len(got) != n or got[-1].step != n - 1 or got[-1].value != loss(n - 1):
            raise SystemExit(f"read back failed: history of {n:,} points returned {len(got):,}")
        del got
        out["runs"][str(n)] = {"run_id": run.id, "populate_s": took}
        log(f"{backend}: history of {n:,} points written in {took:.1f} s ({n / took:,.0f} points/s); read back ok")
    if backend == "postgres":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE metrics"))
    client.close()
    return out


# --- measuring -------------------------------------------------------------------------------------------
def timed(fn: Callable[[], object], calls: int) -> list[float]:
    fn()  # warm: statement caches, the first page of the index in memory
    samples = []
    gc.collect()
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return samples


def summary(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return {"p50": statistics.median(ordered), "p95": p95, "calls": len(ordered), "samples": samples}


class Capture:
    """The SQL statements an engine runs, with their parameters (to EXPLAIN exactly what search ran)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.seen: list[tuple[str, Any]] = []
        sa.event.listen(engine, "before_cursor_execute", self._hook)

    def _hook(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        self.seen.append((statement, parameters))

    def close(self) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._hook)

    def main_query(self) -> tuple[str, Any]:
        return next((s, p) for s, p in self.seen if "LIMIT" in s and "FROM runs" in s)


def explain(engine: sa.Engine, fn: Callable[[], object]) -> list[str]:
    capture = Capture(engine)
    try:
        fn()
    finally:
        capture.close()
    statement, parameters = capture.main_query()
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            return [f"{'  ' * _depth(rows, r)}{r[3]}" for r in rows]
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + statement, parameters).all()
        return [r[0] for r in rows]


def _depth(rows: Sequence[Any], row: Any) -> int:
    parents = {r[0]: r[1] for r in rows}
    depth, parent = 0, row[1]
    while parent in parents:
        depth, parent = depth + 1, parents[parent]
    return depth


def sqlite_statistics(backend: str, state: dict[str, Any], n: int, analyzed: bool) -> None:
    """Give SQLite's planner table statistics (ANALYZE, as ``PRAGMA optimize`` does), or take them away."""
    client = open_client(backend, state, f"runs{n}")
    with client.backend.store.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE" if analyzed else "DROP TABLE IF EXISTS sqlite_stat1")
        conn.commit()
    client.close()


def measure_runs(backend: str, state: dict[str, Any], n: int, calls: int) -> dict[str, Any]:
    name = f"runs{n}"
    if backend.startswith("sqlite"):
        sqlite_statistics(backend, state, n, analyzed=backend == "sqlite_analyzed")
    client = open_client(backend, state, name)
    engine = client.backend.store.engine
    skip = (n // 2) // PAGE * PAGE  # the page halfway down the list
    offset_token = _search.encode_page_token(skip)
    # The token search_runs hands out after the page before it (the (start time, id) it ended at), found
    # here untimed instead of by walking the pages there.
    with engine.connect() as conn:
        ended_at = conn.execute(
            sa.select(runs.c.start_time, runs.c.id)
            .order_by(runs.c.start_time.desc(), runs.c.id.desc())
            .limit(1)
            .offset(skip - 1)
        ).one()
    keyset_token = _search.encode_page_token(after=(ended_at.start_time, ended_at.id))
    queries: dict[str, Callable[[], Any]] = {
        "search": lambda: client.search_runs(PROJECT, SEARCH_FILTER, SEARCH_ORDER, max_results=PAGE),
        "page_first": lambda: client.search_runs(PROJECT, max_results=PAGE),
        "page_deep": lambda: client.search_runs(PROJECT, max_results=PAGE, page_token=keyset_token),
        "page_deep_offset": lambda: client.search_runs(PROJECT, max_results=PAGE, page_token=offset_token),
    }
    if [r.name for r in queries["search"]()] != expected_top(n):
        raise SystemExit(f"search over {n:,} runs ({backend}) returned other runs than expected")
    deep = [r.id for r in queries["page_deep"]()]
    if len(deep) != PAGE or deep != [r.id for r in queries["page_deep_offset"]()]:
        raise SystemExit(f"the deep page over {n:,} runs ({backend}) is not the full page at offset {skip:,}")
    out: dict[str, Any] = {}
    for key, fn in queries.items():
        out[key] = summary(timed(fn, calls))
        out[key]["plan"] = explain(engine, fn)
        log(f"{backend} {n:>9,} runs {key:<10} p50 {format_seconds(out[key]['p50']):>9}")
    client.close()
    return out


def measure_history(
    backend: str, state: dict[str, Any], populated: dict[str, Any], sizes: Sequence[int]
) -> dict[str, Any]:
    client = open_client(backend, state, "history")
    out: dict[str, Any] = {}
    for n in sizes:
        run_id = populated["runs"][str(n)]["run_id"]
        calls = 5 if n <= 1_000_000 else 3
        got = client.get_metric_history(run_id, "loss")
        if len(got) != n:
            raise SystemExit(f"history of {n:,} points ({backend}) returned {len(got):,}")
        expected = expected_downsample(got, DOWNSAMPLE)
        del got
        sampled = client.get_metric_history(run_id, "loss", max_points=DOWNSAMPLE)
        if sampled != expected:
            raise SystemExit(f"the downsampled history of {n:,} points ({backend}) differs from the one computed here")
        out[str(n)] = summary(whole_reads(client, run_id, calls))
        out[str(n)]["ns_per_point"] = out[str(n)]["p50"] / n * 1e9
        chart_read = lambda r=run_id: client.get_metric_history(r, "loss", max_points=DOWNSAMPLE)  # noqa: E731
        chart = summary(timed(chart_read, calls))
        chart["points"] = len(sampled)
        chart["ns_per_point"] = chart["p50"] / n * 1e9
        chart["plan"] = explain_history(client, run_id)
        out[str(n)]["downsampled"] = chart
        log(
            f"{backend} history {n:>11,} pts p50 {format_seconds(out[str(n)]['p50'])} "
            f"({out[str(n)]['ns_per_point']:.0f} ns/point); max_points={DOWNSAMPLE}: "
            f"{format_seconds(chart['p50'])} ({chart['ns_per_point']:.0f} ns/point, {len(sampled)} points)"
        )
    client.close()
    return out


def whole_reads(client: sy.Client, run_id: str, calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        gc.collect()
        t0 = time.perf_counter()
        points = client.get_metric_history(run_id, "loss")
        samples.append(time.perf_counter() - t0)
        del points
    return samples


def expected_downsample(points: list[Metric], max_points: int) -> list[Metric]:
    """The downsample computed here from every point (step order): the first and last, each bucket's extremes."""
    first, last = points[0], points[-1]
    edges = _history.bucket_edges(first.step, last.step, (max_points - 2) // 2)
    chosen = {first, last}
    i = 0
    for _, high in edges:
        start = i
        while i < len(points) and points[i].step <= high:
            i += 1
        inside = [p for p in points[start:i] if p.value == p.value]  # NaN is never an extreme
        if inside:  # min/max keep the first of equal values, as the database's (step, timestamp) order does
            chosen.add(min(inside, key=lambda p: p.value))
            chosen.add(max(inside, key=lambda p: p.value))
    return sorted(chosen, key=lambda p: (p.step, p.timestamp))


def explain_history(client: sy.Client, run_id: str) -> list[str]:
    """The plan of the downsampled read's main statement (the one with the buckets' VALUES table)."""
    engine = client.backend.store.engine
    capture = Capture(engine)
    try:
        client.get_metric_history(run_id, "loss", max_points=DOWNSAMPLE)
    finally:
        capture.close()
    statement, parameters = next((st, p) for st, p in capture.seen if "VALUES" in st)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            return [f"{'  ' * _depth(rows, r)}{r[3]}" for r in rows]
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + statement, parameters).all()
        return [r[0] for r in rows]


# --- reporting -------------------------------------------------------------------------------------------
def print_curves(report: dict[str, Any]) -> None:
    for backend, found in report["measured"].items():
        print(f"\n{backend}: runs in one project (p50 / p95 of {report['args']['calls']} calls)")
        print(f"{'runs':>10} | {'search':>21} | {'page 1':>21} | {'page halfway':>21} | {'halfway by offset':>21}")
        for n, figures in found["runs"].items():
            cells = [
                f"{format_seconds(figures[k]['p50'])} / {format_seconds(figures[k]['p95'])}"
                for k in QUERIES
                if k in figures
            ]
            print(f"{int(n):>10,} | " + " | ".join(f"{c:>21}" for c in cells))
        if found["history"]:
            print(f"{backend}: metric history read whole | max_points={DOWNSAMPLE} (p50 / p95)")
        for n, figures in found["history"].items():
            chart = figures["downsampled"]
            print(
                f"{int(n):>11,} pts | {format_seconds(figures['p50']):>9} / {format_seconds(figures['p95']):>9}"
                f" | {figures['ns_per_point']:.0f} ns/point | {format_seconds(chart['p50']):>9} / "
                f"{format_seconds(chart['p95']):>9} | {chart['ns_per_point']:.0f} ns/point | {chart['points']} points"
            )
        for n, figures in found["history"].items():
            print(f"\n  plan, {backend}, {int(n):,} points, max_points={DOWNSAMPLE}:")
            print("\n".join(f"    {line}" for line in figures["downsampled"]["plan"]))
        for n, figures in found["runs"].items():
            for key in (k for k in QUERIES if k in figures):
                print(f"\n  plan, {backend}, {int(n):,} runs, {key}:")
                print("\n".join(f"    {line}" for line in figures[key]["plan"]))


def build_headlines(report: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    no_peer = "no peer measured: this benchmark is about how Shipyard's own cost grows with the data"
    for backend, found in report["measured"].items():
        label = {"sqlite": "SQLite", "sqlite_analyzed": "SQLite after ANALYZE", "postgres": "PostgreSQL"}[backend]
        if found["runs"]:
            n = max(found["runs"], key=int)
            p50 = found["runs"][n]["search"]["p50"] * 1e3
            at_target = int(n) == 1_000_000
            out.append(
                headline(
                    f"search_runs at {int(n):,} runs, {label}",
                    ours=p50,
                    unit="ms",
                    same_work=f"{SEARCH_FILTER}, order by {SEARCH_ORDER[0]}, {PAGE} results, {int(n):,} runs in one "
                    "project, p50",
                    target=f"< {TARGET_MS:.0f} ms at 1,000,000 runs",
                    met=(p50 < TARGET_MS) if at_target else None,
                    differs=no_peer,
                )
            )
        if found["history"]:
            sizes = sorted(found["history"], key=int)
            big, small = found["history"][sizes[-1]], found["history"][sizes[0]]
            growth = big["ns_per_point"] / small["ns_per_point"]
            out.append(
                headline(
                    f"get_metric_history, {int(sizes[-1]):,} points read whole, {label}",
                    ours=big["p50"],
                    unit="s",
                    same_work=f"one metric of one run, every point, p50; per point "
                    f"{big['ns_per_point']:.0f} ns vs {small['ns_per_point']:.0f} ns at {int(sizes[0]):,}",
                    target=f"linear: per-point cost at most {CLIFF:g}x that at {int(sizes[0]):,} points",
                    met=growth <= CLIFF if len(sizes) > 1 else None,
                    differs=no_peer,
                )
            )
            big_chart, small_chart = big["downsampled"], small["downsampled"]
            chart_growth = big_chart["ns_per_point"] / small_chart["ns_per_point"]
            out.append(
                headline(
                    f"get_metric_history, {int(sizes[-1]):,} points, max_points={DOWNSAMPLE}, {label}",
                    ours=big_chart["p50"],
                    unit="s",
                    same_work=f"one metric of one run downsampled in the database to {big_chart['points']} points "
                    f"(first, last, per step bucket the lowest and highest), p50; per point of the history "
                    f"{big_chart['ns_per_point']:.0f} ns vs {small_chart['ns_per_point']:.0f} ns at "
                    f"{int(sizes[0]):,}; the whole read: {format_seconds(big['p50'])}",
                    target=f"linear: per-point cost at most {CLIFF:g}x that at {int(sizes[0]):,} points",
                    met=chart_growth <= CLIFF if len(sizes) > 1 else None,
                    differs=no_peer,
                )
            )
    return out


# --- main ------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description="How Shipyard's read cost grows with runs and metric points.")
    parser.add_argument("--quick", action="store_true", help="up to 100k runs and 100k points, 10 calls (about 1 min)")
    parser.add_argument("--sizes", help="run counts, comma-separated (default 10000,100000,1000000)")
    parser.add_argument("--points", help="history sizes, comma-separated (default 100000,1000000,10000000)")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both (default)")
    parser.add_argument(
        "--phase",
        choices=("all", "populate", "measure", "drop"),
        default="all",
        help="populate outside the bench lock, then measure under it (default: both); drop removes the stores",
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"where the stores live ({DEFAULT_DATA})")
    parser.add_argument("--calls", type=int, help="timed calls per query and size (default 30; 10 with --quick)")
    parser.add_argument("--keep", action="store_true", help="keep the stores after measuring (--phase drop later)")
    args = parser.parse_args()
    if args.calls is None:
        args.calls = 10 if args.quick else 30
    sizes = _counts(args.sizes, QUICK_RUN_SIZES if args.quick else RUN_SIZES)
    points = _counts(args.points, QUICK_POINT_SIZES if args.quick else POINT_SIZES)
    backends = [b for b in args.backends.split(",") if b]
    if any(b not in BACKENDS for b in backends):
        parser.error(f"--backends takes {', '.join(BACKENDS)}; got {args.backends!r}")
    state_file = args.data / "state.json"
    started, wall0 = dt.datetime.now(dt.UTC), time.perf_counter()

    if args.phase in ("all", "populate"):
        if state_file.exists():
            drop_stores(json.loads(state_file.read_text()))
        args.data.mkdir(parents=True, exist_ok=True)
        state: dict[str, Any] = {
            "data": str(args.data),
            "pg_prefix": f"shipyard_growth_{uuid.uuid4().hex[:8]}",
            "backends": backends,
            "stores": {},
        }
        state_file.write_text(json.dumps(state))
        for backend in backends:
            found: dict[str, Any] = {}
            for n in sizes:
                found[f"runs{n}"] = populate_runs(backend, state, n)
                state["stores"][backend] = found
                state_file.write_text(json.dumps(state, indent=1))
            if points:
                found["history"] = populate_history(backend, state, points)
            state["stores"][backend] = found
            state_file.write_text(json.dumps(state, indent=1))
        if args.phase == "populate":
            log(f"populated in {time.perf_counter() - wall0:.0f} s; now measure with --phase measure")
            return

    state = json.loads(state_file.read_text())
    if args.phase == "drop":
        drop_stores(state)
        return
    measured: dict[str, Any] = {}
    for backend in backends:
        stores = state["stores"][backend]
        measured[backend] = {
            "runs": {str(n): measure_runs(backend, state, n, args.calls) for n in sizes if f"runs{n}" in stores},
            "history": measure_history(backend, state, stores["history"], points) if "history" in stores else {},
        }
        if backend == "sqlite":  # the same stores once more, after ANALYZE: the planner may choose otherwise
            analyzed = {
                str(n): measure_runs("sqlite_analyzed", state, n, args.calls) for n in sizes if f"runs{n}" in stores
            }
            measured["sqlite_analyzed"] = {"runs": analyzed, "history": {}}
    wall = time.perf_counter() - wall0
    report: dict[str, Any] = {
        "started": started.isoformat(),
        "args": {
            "quick": args.quick,
            "sizes": sizes,
            "points": points,
            "backends": backends,
            "calls": args.calls,
            "phase": args.phase,
        },
        "versions": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "shipyard": getattr(sy, "__version__", "?"),
            "postgres": _pg_version() if "postgres" in backends else None,
        },
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "populate": state["stores"],
        "measured": measured,
        "notes": [
            "Runs: run r0 is made through the API; runs r1..r(n-1) are copies of its rows in runs, params, tags, "
            "metrics and latest_metrics, inserted by bulk SQL (executemany on SQLite, COPY on PostgreSQL) with "
            "only the id, name, times and values changed, then ANALYZE (PostgreSQL: VACUUM ANALYZE). A read back "
            "checks a copy reads as the real run and that search returns the expected runs.",
            f"History: written through the store's own write() (Run.flush's path) in batches of {WRITE_BATCH:,}.",
            f"History is read whole, and downsampled with max_points={DOWNSAMPLE} (the first and last point, and "
            "per bucket of steps the lowest and highest, chosen in the database); the downsample is checked "
            "against one computed here from the whole read.",
            "page_deep: the page halfway down the list, by the page token (an offset) search_runs issues.",
            "No peer: this benchmark measures how Shipyard's own cost grows.",
        ],
        "wall_time_s": wall,
    }
    report["headlines"] = build_headlines(report)
    print_curves(report)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"growth-{started:%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n- wall time {wall:.0f} s; figures written to {out.relative_to(REPO)}")
    if not args.keep:
        drop_stores(state)


def _counts(given: str | None, default: list[int]) -> list[int]:
    """``--sizes``/``--points``: comma-separated counts (``_`` allowed); an empty string measures none."""
    if given is None:
        return default
    return [int(part) for part in given.replace("_", "").split(",") if part.strip()]


def _pg_version() -> str:
    with pg_admin().connect() as conn:
        return str(conn.execute(sa.text("SHOW server_version")).scalar())


if __name__ == "__main__":
    main()
