"""Release-gate benchmark: a gated, audited promotion beside MLflow's alias move and the floor, in one run.

    .venv/bin/python bench/guard.py [--repeat N] [--skip-mlflow]       (``make bench BENCH=guard``)

1. Promote latency, per call: Shipyard's ``client.models.set_alias(name, v, "champion")`` (policy read, gate
   decision from the binding verdicts, alias moved, hash-chained audit event appended: one transaction)
   against MLflow's ``set_registered_model_alias`` (no gate, no audit) and raw ``sqlite3`` (one alias upsert
   + one audit insert in one transaction). Also a refused promotion (a failing verdict: ``GateBlocked``).
2. ``client.models.verify_audit()`` over stores of 10,000 and 100,000 audit events, against a plain loop of
   ``hashlib.sha256`` over the same event texts read with ``sqlite3``. MLflow has no audit log.

Prints two tables of medians and ratios and writes ``bench/results/guard-<timestamp>.json``. MLflow runs in
its own virtualenv, ``bench/.venv-mlflow``, made by ``tracking.py``'s installer on first use. See
``bench/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
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
from tracking import FLOOR_PRAGMAS, REPO, RESULTS, log, mlflow_python, ratio

BENCH = Path(__file__).resolve().parent
PROJECT, MODEL, ALIAS = "default", "churn", "champion"
UNPROTECTED = "staging"  # not protected by the policy below: moving it writes an audit event and decides nothing
# The cheapest policy that can pass (as tests/_gate_helpers.py): one blocking check, evaluation data named.
POLICY = {"data": "gate-eval", "checks": [{"kind": "min_rows", "min": 1}]}
# The chain's first link, as in store/audit.py: the floor checks its links independently of Shipyard's code.
GENESIS = "sha256:" + hashlib.sha256(b"shipyard audit chain").hexdigest()


def expected_champion(moves: int) -> int:
    """Moves alternate 2, 1, 2, … after champion was put on 1: the version champion ends on."""
    return 2 if moves % 2 else 1


# --- the floor: raw sqlite3, Shipyard's SQLite settings, one transaction per move ----------------------
FLOOR_SCHEMA = f"""
CREATE TABLE model_aliases (model_id INTEGER NOT NULL, alias TEXT NOT NULL, model_version_id INTEGER NOT NULL,
                            updated_at INTEGER NOT NULL, updated_by TEXT NOT NULL, authorized_by TEXT,
                            PRIMARY KEY (model_id, alias));
CREATE INDEX ix_model_aliases_version ON model_aliases (model_version_id);
CREATE TABLE audit_events (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
                           project_id INTEGER, subject TEXT NOT NULL, details TEXT NOT NULL,
                           seq INTEGER, prev_hash TEXT, hash TEXT);
CREATE INDEX ix_audit_events_project_at ON audit_events (project_id, at);
CREATE INDEX ix_audit_events_subject ON audit_events (subject);
CREATE UNIQUE INDEX uq_audit_events_seq ON audit_events (seq);
CREATE TABLE audit_chain (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL);
INSERT INTO audit_chain VALUES (1, 0, '{GENESIS}');
"""
FLOOR_UPSERT = """
INSERT INTO model_aliases VALUES (1, ?, ?, ?, ?, ?)
ON CONFLICT (model_id, alias) DO UPDATE SET model_version_id = excluded.model_version_id,
    updated_at = excluded.updated_at, updated_by = excluded.updated_by, authorized_by = excluded.authorized_by
"""
FLOOR_EVENT = "INSERT INTO audit_events (at, actor, action, project_id, subject, details, seq, prev_hash, hash) "
FLOOR_EVENT += "VALUES (?, ?, 'alias.set', 1, ?, ?, ?, ?, ?)"
FLOOR_HEAD = "UPDATE audit_chain SET seq = ?, hash = ? WHERE id = 1"


def chain_hash(
    previous: str, seq: int, at: int, actor: str, action: str, project: int | None, subject: str, details: str
) -> str:
    """The text Shipyard's chain hashes (store/audit.py ``event_hash``), hashed with sha256."""
    text = json.dumps([previous, seq, at, actor, action, project, subject, details], separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class FloorAliases:
    """An alias table and an audit table; a move is one transaction of alias upserts and chained events.

    The chain's head is kept in memory. ``shipyard_writes`` makes a move write what a Shipyard promotion
    writes (champion and previous-champion, each with its event and a head-row update) instead of the
    minimum (one upsert, one event), still without any of the gate's reads.
    """

    def __init__(self, tmp: Path, *, shipyard_writes: bool = False) -> None:
        self.conn = sqlite3.connect(tmp / "floor.db", isolation_level=None)  # we issue BEGIN/COMMIT ourselves
        for pragma in FLOOR_PRAGMAS:
            self.conn.execute(f"PRAGMA {pragma}")
        self.conn.executescript(FLOOR_SCHEMA)
        self.shipyard_writes = shipyard_writes
        self.seq, self.previous = 0, GENESIS

    def move(self, version: int, old: int | None) -> None:
        self.conn.execute("BEGIN IMMEDIATE")  # as Shipyard's write transactions
        self._point(ALIAS, version, old)
        if self.shipyard_writes and old is not None:
            self._point("previous-champion", old, version)
        self.conn.execute("COMMIT")

    def _point(self, alias: str, version: int, old: int | None) -> None:
        at, subject = int(time.time() * 1000), f"model:{MODEL}"
        details = json.dumps({"alias": alias, "old_version": old, "new_version": version}, sort_keys=True)
        self.seq += 1
        digest = chain_hash(self.previous, self.seq, at, "bench", "alias.set", 1, subject, details)
        self.conn.execute(FLOOR_UPSERT, (alias, version, at, "bench", "verdict"))
        self.conn.execute(FLOOR_EVENT, (at, "bench", subject, details, self.seq, self.previous, digest))
        if self.shipyard_writes:
            self.conn.execute(FLOOR_HEAD, (self.seq, digest))
        self.previous = digest

    def champion(self) -> int:
        return int(
            self.conn.execute("SELECT model_version_id FROM model_aliases WHERE alias = ?", (ALIAS,)).fetchone()[0]
        )


def floor_promote(tmp: Path, moves: int, *, shipyard_writes: bool = False) -> list[float]:
    floor = FloorAliases(tmp, shipyard_writes=shipyard_writes)
    floor.move(1, None)  # untimed, as on the other sides
    samples = []
    for i in range(moves):
        version = 2 - i % 2
        t0 = time.perf_counter()
        floor.move(version, 3 - version)
        samples.append(time.perf_counter() - t0)
    assert floor.champion() == expected_champion(moves)
    floor.conn.close()
    return samples


def floor_verify(db: Path) -> tuple[float, float, int]:
    """Read every event of Shipyard's store with sqlite3, rebuild each hashed text, sha256 it, check the links.

    Returns (seconds in all, seconds of the read alone, events whose hash and link check out)."""
    conn = sqlite3.connect(db)
    sql = "SELECT seq, at, actor, action, project_id, subject, details, prev_hash, hash FROM audit_events ORDER BY seq"
    t0 = time.perf_counter()
    rows = conn.execute(sql).fetchall()
    read = time.perf_counter() - t0
    previous, good = GENESIS, 0
    for seq, at, actor, action, project_id, subject, details, prev_hash, digest in rows:
        text = json.dumps([prev_hash, seq, at, actor, action, project_id, subject, details], separators=(",", ":"))
        good += prev_hash == previous and "sha256:" + hashlib.sha256(text.encode()).hexdigest() == digest
        previous = digest
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed, read, good


# --- Shipyard: the public API on the embedded store (SQLite file + folder) in a temporary directory -----
def import_shipyard() -> Any:
    sys.path.insert(0, str(REPO / "src"))  # benchmark this checkout, installed or not
    try:
        import shipyard as sy

        sy.Client, sy.GateBlocked  # noqa: B018  (the APIs measured must exist, not just the package)
    except Exception as exc:  # any failure here means there is nothing to measure
        sys.exit(
            f"error: cannot use Shipyard ({type(exc).__name__}: {exc}). Run `make setup` from the repository root."
        )
    return sy


class ShipyardGuard:
    def __init__(self, sy: Any) -> None:
        self.sy = sy
        from shipyard.store._engine import sqlite_path

        self.sqlite_path = sqlite_path

    def client(self, tmp: Path) -> Any:
        # cwd=tmp: no shipyard.toml above the temporary directory can apply a policy of its own.
        return self.sy.Client(uri=str(tmp / ".shipyard"), cwd=tmp)

    def gated_model(self, client: Any) -> None:
        """churn@1 and churn@2 with passing binding verdicts, churn@3 with a failing one; champion on 1.

        Everything goes through the store's own paths, as tests/_gate_helpers.py ``pass_gate`` does: the
        policy applied, the evaluation data registered, each verdict written (the store decides it is binding).
        """
        import pandas as pd
        from sklearn.linear_model import LogisticRegression

        frame = pd.DataFrame({"x0": [float(i % 7) for i in range(40)], "x1": [float(i % 5) for i in range(40)]})
        label = [i % 2 for i in range(40)]
        model = LogisticRegression().fit(frame, label)
        backend = client.backend
        backend.policies.apply(PROJECT, POLICY, source="bench", actor="bench")
        data = client.datasets.register("gate-eval", {"x": [1.0, 2.0]}, project=PROJECT)
        for number, passed in ((1, True), (2, True), (3, False)):
            version = client.models.log(model, MODEL, project=PROJECT, train_data=frame)
            assert version.version == number
            status = "pass" if passed else "fail"
            binding, why = backend.verdicts.add(
                uuid.uuid4().hex,
                model_version_id=version.id,
                policy_digest=backend.policies.in_force(PROJECT).digest,
                dataset_version_id=data.id,
                shipyard_version=self.sy.__version__,
                passed=passed,
                result={"checks": [{"name": "min_rows", "severity": "error", "status": status, "message": status}]},
                report_digest=None,
                actor="bench",
            )
            assert binding, why
        client.models.set_alias(MODEL, 1, ALIAS, project=PROJECT)

    def promote(self, tmp: Path, moves: int) -> dict[str, list[float]]:
        """Per-call seconds of ``moves`` gated promotions (alternating 2, 1) and of ``moves`` refused ones."""
        client = self.client(tmp)
        try:
            self.gated_model(client)
            samples = []
            for i in range(moves):
                version = 2 - i % 2
                t0 = time.perf_counter()
                client.models.set_alias(MODEL, version, ALIAS, project=PROJECT)
                samples.append(time.perf_counter() - t0)
            assert client.models.get(f"{MODEL}@{ALIAS}").version == expected_champion(moves)
            head = client.models.audit_head()
            refused = []
            for _ in range(moves):
                t0 = time.perf_counter()
                try:
                    client.models.set_alias(MODEL, 3, ALIAS, project=PROJECT)
                except self.sy.GateBlocked:
                    refused.append(time.perf_counter() - t0)
            assert len(refused) == moves, "a version with a failing verdict was promoted"
            assert client.models.get(f"{MODEL}@{ALIAS}").version == expected_champion(moves)
            seq, _ = client.models.audit_head()  # a refusal moves nothing and writes one gate.refused event
            assert seq == head[0] + moves
            assert client.models.verify_audit().ok
        finally:
            client.close()
        return {"promote": samples, "blocked": refused}

    def fill_audit(self, client: Any, events: int) -> None:
        """Append events through the registry until the chain holds ``events``: moves of an unprotected alias."""
        registry, (head, _) = client.backend.registry, client.models.audit_head()
        for i in range(events - head):
            registry.set_alias(PROJECT, MODEL, 1 + i % 2, UNPROTECTED, actor="bench")
            if (head + i + 1) % 10_000 == 0:
                log(f"  shipyard: {head + i + 1:,} events")

    def verify(self, client: Any, events: int) -> float:
        t0 = time.perf_counter()
        found = client.models.verify_audit()
        elapsed = time.perf_counter() - t0
        assert found.ok and found.events == events, (found.events, found.problems[:3])
        return elapsed

    def db(self, client: Any) -> Path:
        path = self.sqlite_path(client.backend.store.engine)
        assert path is not None, "the embedded store is an SQLite file"
        return Path(path)


# --- running each side ---------------------------------------------------------------------------------
def run_promote(work: ShipyardGuard, repeat: int, moves: int) -> dict[str, dict[str, list[float]]]:
    """Shipyard and the floor, taking turns in each repeat; a fresh store per measurement."""
    with h.fresh_dir() as tmp:  # warm-up, discarded: imports, statement caches, the model's first packaging
        work.promote(tmp, 20)
    with h.fresh_dir() as tmp:
        floor_promote(tmp, 20)
    out: dict[str, dict[str, list[float]]] = {"shipyard": {}, "floor": {}}
    for i in range(repeat):
        gc.collect()
        with h.fresh_dir() as tmp:
            for key, samples in work.promote(tmp, moves).items():
                out["shipyard"].setdefault(key, []).append(statistics.median(samples))
        gc.collect()
        with h.fresh_dir() as tmp:
            out["floor"].setdefault("promote", []).append(statistics.median(floor_promote(tmp, moves)))
        with h.fresh_dir() as tmp:
            samples = floor_promote(tmp, moves, shipyard_writes=True)
            out["floor"].setdefault("shipyard_writes", []).append(statistics.median(samples))
        log(
            f"  {i + 1}/{repeat}: shipyard {h.format_seconds(out['shipyard']['promote'][-1])}, refused "
            f"{h.format_seconds(out['shipyard']['blocked'][-1])}, floor {h.format_seconds(out['floor']['promote'][-1])}"
            f" (with Shipyard's writes {h.format_seconds(out['floor']['shipyard_writes'][-1])})"
        )
    return out


def run_verify(work: ShipyardGuard, repeat: int, sizes: list[int], setup: dict[str, float]) -> dict[str, Any]:
    """One store grown through Shipyard's API to each size in turn; Shipyard's verify and the floor alternate."""
    out: dict[str, Any] = {}
    with h.fresh_dir() as tmp:
        client = work.client(tmp)
        try:
            work.gated_model(client)
            for size in sorted(sizes):
                log(f"audit verify: appending events up to {size:,} through the registry (untimed setup) ...")
                t0 = time.perf_counter()
                work.fill_audit(client, size)
                setup[str(size)] = time.perf_counter() - t0
                work.verify(client, size)  # warm-up, discarded
                db = work.db(client)
                figures: dict[str, list[float]] = {"shipyard": [], "floor": [], "floor_read": []}
                for i in range(repeat):
                    gc.collect()
                    figures["shipyard"].append(work.verify(client, size))
                    gc.collect()
                    seconds, read, good = floor_verify(db)
                    assert good == size, f"the floor checked {good:,} of {size:,} events: its hashes differ"
                    figures["floor"].append(seconds)
                    figures["floor_read"].append(read)
                    log(
                        f"  {size:,} events {i + 1}/{repeat}: shipyard {h.format_seconds(figures['shipyard'][-1])}, "
                        f"floor {h.format_seconds(seconds)}"
                    )
                out[str(size)] = figures
        finally:
            client.close()
    return out


def run_mlflow(repeat: int, moves: int) -> tuple[dict[str, Any] | None, str]:
    """MLflow's figures (None when it could not run) and a line saying what happened."""
    try:
        python = mlflow_python()  # tracking.py's installer: bench/.venv-mlflow, made on first use
    except (subprocess.CalledProcessError, OSError) as exc:
        return None, (
            f"mlflow: unavailable, its column is empty (could not install MLflow into bench/.venv-mlflow; no "
            f"network? {exc})"
        )
    log(f"mlflow: running bench/_mlflow_guard.py with {python} ...")
    command = [str(python), str(BENCH / "_mlflow_guard.py"), "--repeat", str(repeat), "--moves", str(moves)]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    with h.fresh_dir("mlflow-cwd-") as cwd:  # MLflow may create ./mlruns; keep it out of the repository
        done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        return None, f"mlflow: unavailable (bench/_mlflow_guard.py exited with {done.returncode}; its output is above)"
    found = json.loads(done.stdout)
    wrong = [c for c in found["checks"]["champion_after"] if int(c) != expected_champion(moves)]
    if wrong:
        return None, f"mlflow: its figures are discarded: champion ended on {wrong[0]}, not {expected_champion(moves)}"
    return found, f"mlflow: MLflow {found['versions']['mlflow']}, bench/.venv-mlflow"


# --- report --------------------------------------------------------------------------------------------
def med(values: list[float] | None) -> float | None:
    return statistics.median(values) if values else None


def times(x: float | None) -> str:
    return "-" if x is None else f"{x:,.1f}x" if x < 100 else f"{x:,.0f}x"


def per_second(events: int, seconds: float | None) -> str:
    return "-" if not seconds else f"{events / seconds:,.0f}/s"


def table(header: tuple[str, ...], body: list[tuple[str, ...]]) -> str:
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def fmt(line: tuple[str, ...]) -> str:
        cells = [line[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(line[1:-1], widths[1:-1], strict=True)]
        return " | ".join([*cells, line[-1].ljust(widths[-1])]).rstrip()

    return "\n".join([fmt(header), "-+-".join("-" * w for w in widths), *(fmt(line) for line in body)])


def promote_rows(
    promote: dict[str, dict[str, list[float]]], mlflow: dict[str, Any] | None, moves: int
) -> list[dict[str, Any]]:
    ours, floor = med(promote["shipyard"]["promote"]), med(promote["floor"]["promote"])
    theirs = med(mlflow["results"]["promote"]) if mlflow else None
    refused = med(promote["shipyard"]["blocked"])
    return [
        {
            "operation": f"1. promote: move champion ({moves} calls, per call)",
            "shipyard_s": ours,
            "mlflow_s": theirs,
            "floor_s": floor,
            "shipyard_over_floor": ratio(ours, floor),
            "mlflow_over_shipyard": ratio(theirs, ours),
            "differs": "MLflow: no gate decision, no audit event",
            "floor_shipyard_writes_s": med(promote["floor"]["shipyard_writes"]),
            "samples": {
                "shipyard": promote["shipyard"]["promote"],
                "mlflow": mlflow["results"]["promote"] if mlflow else None,
                "floor": promote["floor"]["promote"],
                "floor_shipyard_writes": promote["floor"]["shipyard_writes"],
            },
        },
        {
            "operation": f"2. promote refused: GateBlocked ({moves} calls)",
            "shipyard_s": refused,
            "mlflow_s": None,
            "floor_s": None,
            "shipyard_over_floor": None,
            "mlflow_over_shipyard": None,
            "differs": "MLflow has no gate; nothing written",
            "samples": {"shipyard": promote["shipyard"]["blocked"]},
        },
    ]


def verify_rows(verify: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for size, figures in verify.items():
        ours, floor = med(figures["shipyard"]), med(figures["floor"])
        rows.append(
            {
                "events": int(size),
                "shipyard_s": ours,
                "floor_s": floor,
                "floor_read_s": med(figures["floor_read"]),
                "shipyard_events_per_s": int(size) / ours if ours else None,
                "floor_events_per_s": int(size) / floor if floor else None,
                "shipyard_over_floor": ratio(ours, floor),
                "samples": figures,
            }
        )
    return rows


def headlines(rows: list[dict[str, Any]], verify: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from _headlines import headline

    promote, refused = rows[0], rows[1]
    found = [
        headline(
            "promote: move champion, per call",
            ours=promote["shipyard_s"] * 1000,
            unit="ms",
            peer="MLflow set_registered_model_alias",
            theirs=None if promote["mlflow_s"] is None else promote["mlflow_s"] * 1000,
            floor=promote["floor_s"] * 1000,
            floor_name="sqlite3 upsert + audit insert",
            same_work="give a registered version the champion alias on the embedded SQLite store, durably",
            differs="Shipyard also decides the gate from the policy in force and its verdicts, keeps "
            "previous-champion and writes two hash-chained audit events; MLflow does none of that and runs SQLite "
            "with synchronous=FULL (Shipyard: WAL, NORMAL)",
            target="no slower than MLflow's bare alias move",
            met=None if promote["mlflow_s"] is None else promote["shipyard_s"] <= promote["mlflow_s"],
        ),
        headline(
            "promote refused (GateBlocked), per call",
            ours=refused["shipyard_s"] * 1000,
            unit="ms",
            same_work="a promotion the gate refuses, recorded as a gate.refused audit event",
            differs="no peer has a gate",
        ),
    ]
    for row in verify:
        found.append(
            headline(
                f"audit verify, {row['events']:,} events",
                ours=row["shipyard_s"] * 1000,
                unit="ms",
                floor=row["floor_s"] * 1000,
                floor_name="sqlite3 read + sha256 chain loop",
                same_work="recompute every event's hash and link",
                differs="Shipyard also replays the log against aliases, verdicts and policies; no peer has an "
                "audit chain",
            )
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Shipyard's gated promotion and audit verification vs MLflow and sqlite3."
    )
    parser.add_argument("--repeat", type=int, default=3, help="measurements per figure; the median is shown")
    parser.add_argument("--moves", type=int, default=200, help="alias moves (and refusals) per measurement")
    parser.add_argument("--events", default="10000,100000", help="audit log sizes for verify, comma-separated")
    parser.add_argument("--skip-mlflow", action="store_true", help="measure Shipyard and the floor only")
    parser.add_argument("--quick", action="store_true", help="1 repeat, 100 moves, 10,000 events: about a minute")
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.moves, args.events = 1, 100, "10000"
    try:
        sizes = sorted({int(s) for s in args.events.split(",") if s.strip()})
    except ValueError:
        parser.error(f"--events takes sizes like 10000,100000; got {args.events!r}")
    if args.repeat < 1 or args.moves < 1 or not sizes or min(sizes) < 100:
        parser.error("--repeat and --moves must be at least 1, and every --events size at least 100")
    started, wall0 = dt.datetime.now(dt.UTC), time.perf_counter()
    versions: dict[str, str] = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}

    sy = import_shipyard()
    versions["shipyard"] = getattr(sy, "__version__", "?")
    work = ShipyardGuard(sy)
    log("promote: shipyard and the floor ...")
    promote = run_promote(work, args.repeat, args.moves)
    setup: dict[str, float] = {}
    verify = run_verify(work, args.repeat, sizes, setup)
    mlflow, mlflow_line = (
        (None, "mlflow: skipped (--skip-mlflow)") if args.skip_mlflow else run_mlflow(args.repeat, args.moves)
    )
    log(mlflow_line)
    if mlflow:
        versions.update({"mlflow": mlflow["versions"]["mlflow"], "mlflow_sqlite": mlflow["versions"]["sqlite"]})
    wall = time.perf_counter() - wall0

    rows, checks = promote_rows(promote, mlflow, args.moves), verify_rows(verify)
    print(
        f"Shipyard release-gate benchmark, {started:%Y-%m-%d %H:%M} UTC, median of {args.repeat} "
        f"measurement{'s' if args.repeat > 1 else ''}\n"
        f"Python {versions['python']}, SQLite {versions['sqlite']}, Shipyard {versions['shipyard']}; "
        f"{mlflow_line}; {platform.platform()}, {os.cpu_count()} CPUs\n"
    )
    print(
        table(
            ("operation", "shipyard", "mlflow", "floor", "shipyard/floor", "mlflow/shipyard", "what differs"),
            [
                (
                    r["operation"],
                    h.format_seconds(r["shipyard_s"]),
                    h.format_seconds(r["mlflow_s"]),
                    h.format_seconds(r["floor_s"]),
                    times(r["shipyard_over_floor"]),
                    times(r["mlflow_over_shipyard"]),
                    r["differs"],
                )
                for r in rows
            ],
        )
    )
    print()
    print(
        table(
            ("audit verify", "shipyard", "events/s", "floor", "events/s", "shipyard/floor", "mlflow"),
            [
                (
                    f"3. {r['events']:,} events",
                    h.format_seconds(r["shipyard_s"]),
                    per_second(r["events"], r["shipyard_s"]),
                    h.format_seconds(r["floor_s"]),
                    per_second(r["events"], r["floor_s"]),
                    times(r["shipyard_over_floor"]),
                    "n/a: no audit log",
                )
                for r in checks
            ],
        )
    )
    notes = [
        "1: Shipyard = client.models.set_alias(name, v, 'champion'): policy in force read, gate decided from the "
        "binding verdicts, champion moved and previous-champion kept (2 alias upserts, 2 chained audit events), "
        "one IMMEDIATE transaction, WAL, synchronous=NORMAL.",
        "1: MLflow = MlflowClient().set_registered_model_alias on sqlite:/// (its defaults: rollback journal, "
        "synchronous=FULL): version looked up, alias merged; no gate decision, no audit event, no previous-champion.",
        f"1: floor = raw sqlite3, PRAGMA {', '.join(FLOOR_PRAGMAS)}: BEGIN IMMEDIATE, one alias upsert, one audit "
        "insert carrying its sha256 chain hash (head kept in memory), COMMIT. The floor writing what Shipyard "
        "writes (2 upserts, 2 events, the head row updated after each; still none of the gate's reads): "
        f"{h.format_seconds(rows[0]['floor_shipyard_writes_s'])} per call, Shipyard "
        f"{times(ratio(rows[0]['shipyard_s'], rows[0]['floor_shipyard_writes_s']))} that.",
        "2: a version whose binding verdict failed: the same call, refused inside its transaction (rolled back), "
        "then the refusal written as one gate.refused audit event in a transaction of its own (checked).",
        "3: Shipyard = client.models.verify_audit(): every hash recomputed, then the log replayed against aliases, "
        "verdicts and policies. Events: moves of an unprotected alias through client.backend.registry.set_alias.",
        "3: floor = sqlite3 SELECT of every event + a Python loop rebuilding each hashed text, hashlib.sha256, link "
        "check; no replay. Its read alone: "
        + ", ".join(f"{r['events']:,}: {h.format_seconds(r['floor_read_s'])}" for r in checks)
        + ". Every side found every event intact.",
        "setup (untimed): appending the events through the registry took "
        + ", ".join(f"{int(size):,} events: {seconds:.0f} s" for size, seconds in setup.items())
        + " (each size grows the store of the one before).",
        f"per-call figures are the median of {args.moves} calls; each figure is the median of {args.repeat} "
        f"measurement{'s' if args.repeat > 1 else ''}.",
    ]
    print()
    for note in notes:
        print(f"- {note}")
    print(f"- wall time of this benchmark: {wall:.0f} s")

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"guard-{started:%Y%m%dT%H%M%SZ}.json"
    report = {
        "started": started.isoformat(),
        "args": {"repeat": args.repeat, "moves": args.moves, "events": sizes, "skip_mlflow": args.skip_mlflow},
        "versions": versions,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "promote": rows,
        "mlflow_means": mlflow.get("means") if mlflow else None,
        "mlflow": mlflow_line,
        "audit_verify": checks,
        "fill_s": setup,
        "notes": notes,
        "wall_time_s": wall,
        "quick": args.quick,
        "headlines": headlines(rows, checks),
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"- figures written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
