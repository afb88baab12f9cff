"""The demo's story, step by step: the whole loop of DESIGN.md on one synthetic churn problem, in one process.

1. the labelled history is registered as ``churn-recent``; ``shipyard.toml`` and ``pipelines.py`` are written;
2. the pipeline trains two candidates, a deliberately weak one and a good one, and registers both;
3. the gate judges both on the pipeline's holdout: it blocks the weak one and passes the good one, which is
   promoted to champion;
4. the champion is served in this process (the ASGI app of ``shipyard serve``, no socket);
5. a window of ordinary traffic, each request followed by its ground truth; the monitor passes it;
6. the market moves: two windows of drifted traffic; the monitor alerts, and the loop retrains on the newest
   labelled traffic, gates the new version and starts a canary;
7. the server picks the canary up; more traffic goes through champion and canary until the monitor's next
   evaluation judges the canary better and promotes it; the server swaps to the new champion;
8. the reports are written, and the summary printed.

The monitors are evaluated as ``shipyard monitor run`` evaluates them (``Monitoring.run``), after the labelling
job has published the newest labelled traffic as the next version of ``churn-recent``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from shipyard.core.config import HOME_DIR
from shipyard.core.entities import RunStatus
from shipyard.core.errors import GateBlocked, ShipyardError
from shipyard.demo.data import AFTER, BEFORE, CATEGORICAL, LABEL, NUMERIC, Market, customers
from shipyard.demo.folder import PIPELINES, Scale, prepare, write_project
from shipyard.demo.narration import Narrator
from shipyard.demo.traffic import RECENT, Phase, Traffic

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.core.entities import LoopRecord, ModelVersion
    from shipyard.demo.asgi import InProcessServer
    from shipyard.monitoring.rules import RuleResult
    from shipyard.monitoring.service import Monitoring, MonitorOutcome
    from shipyard.tracking import Client

MODEL = "churn"
HOLDOUT = "training.holdout"
DAY_MS = 86_400_000
MAX_CANARY_ROUNDS = 8


@dataclass(frozen=True)
class DemoOptions:
    folder: Path = Path("shipyard-demo")
    seed: int = 7
    rows: int = 4_000
    """Labelled customers in the history; the windows and the traffic follow (see ``Scale``)."""
    quiet: bool = False


@dataclass
class DemoResult:
    """How the story ended: ``ok`` when the loop promoted a retrained champion."""

    folder: Path
    ending: str = "not reached"
    champion_before: str = ""
    champion_after: str = ""
    reports: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.ending == "promoted" and self.champion_after != self.champion_before


class Demo:
    def __init__(self, options: DemoOptions, echo: Callable[[str], None]) -> None:
        self.options = options
        self.scale = Scale(options.rows)
        self.rng = np.random.default_rng(options.seed)
        self.story = Narrator(echo, options.quiet)
        self.phases: dict[str, Phase] = {}
        self.windows = 0
        self.loop_id: int | None = None
        self._shown: dict[int, int] = {}  # history entries of each loop told so far

    def run(self, client: Client, folder: Path) -> DemoResult:
        from shipyard.demo.summary import Summary

        start = time.perf_counter()
        self.client, self.folder = client, folder
        self.result = DemoResult(folder)
        self.story.print(
            f"shipyard demo: train, gate, serve, drift, alert, retrain, canary and promote a churn model in {folder} "
            f"(seed {self.options.seed})"
        )
        self.story.print()
        self._history()
        weak, good = self._candidates()
        self._gate(weak, good)
        monitoring = self._monitoring()
        self._serve(monitoring)
        summary = Summary(client, self.story, self.phases, monitoring.monitors[0])
        self.result.reports = summary.write_reports(folder, weak)
        self.result.seconds = time.perf_counter() - start
        summary.print(self.result)
        return self.result

    # 1–3: data, candidates, the gate -------------------------------------------------------------------

    def _history(self) -> None:
        rows = self.scale.rows
        with self.story.step(f"Data: {rows:,} labelled customers of the last 90 days"):
            now = int(time.time() * 1000)
            history = customers(self.rng, rows, BEFORE, start_ms=now - 90 * DAY_MS, end_ms=now - DAY_MS)
            version = self.client.datasets.register(RECENT, history, description="labelled customers, last 90 days")
            self.story.say(
                f"{len(NUMERIC)} numeric and {len(CATEGORICAL)} categorical features (plan, region, payment, "
                f"contract, …), event_time; {history[LABEL].mean():.0%} {LABEL}"
            )
            self.story.say(f"registered {version.ref}: the table the pipeline reads (the newest version)")
            self.story.say(f"wrote {self.folder / 'shipyard.toml'} (gate policy, monitor) and {PIPELINES}")

    def _candidates(self) -> tuple[ModelVersion, ModelVersion]:
        from shipyard.pipelines.targets import run_target

        target = f"{self.folder / PIPELINES}:training"
        found = []
        with self.story.step("Pipeline: two candidates from pipelines.py:training"):
            for features in ("weak", "all"):
                run = run_target(self.client, target, {"features": features})
                if run.status is not RunStatus.FINISHED:
                    failed = "; ".join(f"{s.node}: {s.error}" for s in run.failed_steps)
                    raise ShipyardError(f"The demo's training pipeline failed: {failed}")
                version = self.client.models.get(run.output("train").ref)
                scores = run.result
                ran = sum(1 for s in run.steps if s.status.value != "cached")
                self.story.say(
                    f"{version.ref}  features={features:<4} {_inputs(version):>2} inputs   holdout roc_auc "
                    f"{scores['roc_auc']:.3f}  accuracy {scores['accuracy']:.3f}   "
                    f"(steps: {ran} ran, {len(run.steps) - ran} cached)"
                )
                found.append(version)
        return found[0], found[1]

    def _gate(self, weak: ModelVersion, good: ModelVersion) -> None:
        from shipyard.gates import Gate

        gate = Gate(self.client)
        with self.story.step(f"Gate: both candidates judged on {HOLDOUT} under shipyard.toml's policy"):
            holdout = self.client.datasets.get(HOLDOUT)
            verdicts = {v.version: gate.evaluate(v, data=holdout) for v in (weak, good)}
            for version in (weak, good):
                verdict = verdicts[version.version]
                self.story.say(f"{version.ref}: {'PASSED' if verdict.passed else 'BLOCKED'} ({holdout.ref})")
                for check in verdict.checks:
                    self.story.say(f"{check.status.value.upper():<5} {check.name}: {check.message}", 2)
            if verdicts[weak.version].passed or not verdicts[good.version].passed:
                raise ShipyardError(
                    "The demo's gate did not block the weak candidate and pass the good one; try another --seed."
                )
            champion = self.client.models.promote(good.ref)
            self.story.say(f"promoted {champion.ref} to champion")
            try:
                self.client.models.promote(weak.ref)
            except GateBlocked as blocked:
                self.story.say(f"promote {weak.ref}: refused (GateBlocked)")
                self.story.say(str(blocked).split(": ", 1)[-1].split(". ")[0], 2)
            else:
                raise ShipyardError(f"The registry let {weak.ref} become champion without a passing verdict.")
        self.result.champion_before = champion.ref

    # 4–7: serving, drift, the loop ---------------------------------------------------------------------

    def _monitoring(self) -> Monitoring:
        """The monitors of shipyard.toml, as ``shipyard monitor run`` reads them in this folder."""
        from shipyard.monitoring.config import load_monitors
        from shipyard.monitoring.service import Monitoring

        specs = []
        for spec in load_monitors(self.folder):
            target = spec.on_alert.retrain
            if target is not None and not Path(target).is_absolute():  # relative to the project, not our cwd
                spec = replace(spec, on_alert=replace(spec.on_alert, retrain=str(self.folder / target)))
            specs.append(spec)
        monitoring = Monitoring(self.client, specs)
        monitoring.check()
        return monitoring

    def _serve(self, monitoring: Monitoring) -> None:
        from shipyard.demo.asgi import InProcessServer
        from shipyard.serving.app import create_app
        from shipyard.serving.deployment import ServeOptions
        from shipyard.serving.predlog import PredictionLog

        with self.story.step("Serve churn@champion in this process (the app of `shipyard serve`, no socket)"):
            log = PredictionLog(self.client.backend, self.client.settings.project, MODEL)
            # The demo refreshes the deployment itself at the moments a poll would, so the story is exact.
            options = ServeOptions(ref=f"{MODEL}@champion", poll_interval=3600.0)
            server = InProcessServer(create_app(self.client, options, prediction_log=log))
            server.__enter__()
            self.story.say(f"serving {_roles(server)}; predictions and feedback go to the prediction log")
        try:
            traffic = Traffic(self.client, server, log, request_rows=self.scale.request_rows)
            self._ordinary(traffic, monitoring)
            self._drift(traffic, monitoring)
            self._canary(traffic, monitoring, server)
        finally:
            server.close()

    def _window_of(self, market: Market, windows: int) -> pd.DataFrame:
        now = int(time.time() * 1000)
        return customers(self.rng, self.scale.window_rows * windows, market, start_ms=now, end_ms=now + 1)

    def _ordinary(self, traffic: Traffic, monitoring: Monitoring) -> None:
        requests = self.scale.window_requests
        with self.story.step(f"Traffic: {requests} requests × {self.scale.request_rows} customers, then feedback"):
            self.phases["before the drift"] = phase = traffic.send(self._window_of(BEFORE, 1), "before the drift")
            self._quality(phase)
            self._evaluate(traffic, monitoring)

    def _drift(self, traffic: Traffic, monitoring: Monitoring) -> None:
        requests = 2 * self.scale.window_requests
        title = f"The market moves: {requests} requests of drifted customers; the monitor alerts and retrains"
        with self.story.step(title):
            self.story.say("prices up 12, dropped calls ×2.5, a competitor in the south, more monthly contracts and")
            self.story.say("wallet payments; price and dropped calls now drive churn, satisfaction much less")
            self.phases["after the drift"] = phase = traffic.send(self._window_of(AFTER, 2), "after the drift")
            self._quality(phase)
            outcome = self._evaluate(traffic, monitoring)
            if not outcome.loops:
                raise ShipyardError("The drift opened no retraining loop; see `shipyard monitor windows churn-drift`.")
            self.loop_id = outcome.loops[0].id

    def _canary(self, traffic: Traffic, monitoring: Monitoring, server: InProcessServer) -> None:
        deployment = server.app_state("deployment")
        with self.story.step("The running server picks up the canary (its next poll)"):
            changed = server.run(deployment.refresh())
            self.story.say(f"refresh(): {', '.join(changed) or 'nothing'} changed; serving {_roles(server)}")
        phase = self.phases["canary"] = Phase("canary")
        requests = self.scale.window_requests
        ending = "canary"
        with self.story.step(f"Canary: rounds of {requests} requests with feedback, each followed by `monitor run`"):
            for round_ in range(1, MAX_CANARY_ROUNDS + 1):
                part = traffic.send(self._window_of(AFTER, 1), "canary")
                phase.add(part)
                shares = ", ".join(
                    f"{MODEL}@{v}: {rows:,} rows, accuracy {acc:.3f}"
                    for v in part.served_versions()
                    for rows, acc, _auc in [part.quality(v)]
                )
                self.story.say(f"round {round_}: {shares}")
                outcome = self._evaluate(traffic, monitoring, windows=False)
                ending = next((loop.state for loop in outcome.loops if loop.id == self.loop_id), ending)
                if ending != "canary":
                    break
            else:
                self.story.say(f"the canary was not decided after {MAX_CANARY_ROUNDS} rounds")
        self.result.ending = ending
        with self.story.step("The server swaps to the new champion; traffic after retraining"):
            changed = server.run(deployment.refresh())
            self.story.say(f"refresh(): {', '.join(changed) or 'nothing'} changed; serving {_roles(server)}")
            self.phases["after retraining"] = after = traffic.send(self._window_of(AFTER, 1), "after retraining")
            self._quality(after)
            self._evaluate(traffic, monitoring)
        self.result.champion_after = self.client.models.get(f"{MODEL}@champion").ref

    # the monitor ----------------------------------------------------------------------------------------

    def _evaluate(self, traffic: Traffic, monitoring: Monitoring, *, windows: bool = True) -> MonitorOutcome:
        """The labelling job, then one evaluation of the monitors, as `shipyard monitor run` would do it."""
        recent = traffic.publish_labelled(2 * self.scale.window_rows)
        self.story.say(f"labelling job: the newest {recent.rows:,} labelled rows → {recent.ref}")
        [outcome] = monitoring.run()
        for window in outcome.windows:
            self.windows += 1
            self.story.say(f"monitor run: window {self.windows} ({window.rows:,} rows): {window.status.upper()}")
            if windows or window.status == "fail":
                for rule in window.rules:
                    self.story.say(f"{rule.rule}: {rule.status} — {_message(rule)}", 2)
        for alert in outcome.opened:
            self.story.say(f"ALERT {alert.id} opened: {alert.message}")
        for alert in outcome.resolved:
            self.story.say(f"alert {alert.id} resolved ({alert.rule} passes again)")
        for loop in outcome.loops:
            self._loop(loop)
        return outcome

    def _loop(self, loop: LoopRecord) -> None:
        from shipyard.gates import Gate

        shown = self._shown.get(loop.id, 0)
        for entry in loop.history[shown:]:
            self.story.say(f"loop {loop.id} → {entry['state']}: {entry['message']}")
            if entry["state"] == "canary" and loop.candidate_version is not None:
                verdict = Gate(self.client).latest(f"{MODEL}@{loop.candidate_version}")
                for check in verdict.get("checks", []):
                    self.story.say(f"{check['status'].upper():<5} {check['name']}: {check['message']}", 2)
        if len(loop.history) == shown and loop.state == "canary":
            self.story.say(f"loop {loop.id} waits: the canary needs more requests with feedback")
        self._shown[loop.id] = len(loop.history)

    def _quality(self, phase: Phase) -> None:
        for version in phase.served_versions():
            rows, accuracy, auc = phase.quality(version)
            self.story.say(
                f"{phase.name}: {MODEL}@{version} answered {rows:,} rows: accuracy {accuracy:.3f}, roc_auc {auc:.3f}"
            )


def _roles(server: InProcessServer) -> str:
    """What ``GET /ready`` says the server serves, in a few words."""
    ready = server.get("/ready").json()
    roles = [
        f"{role} {ready[role]['model']}@{ready[role]['version']}" for role in ("champion", "canary") if role in ready
    ]
    if "canary" in ready:
        roles[-1] += f" ({ready['canary']['share']:.0%} of requests)"
    return ", ".join(roles)


def _message(rule: RuleResult) -> str:
    drifted = rule.details.get("drifted")
    if rule.kind != "feature_drift" or not drifted:
        return rule.message
    return f"{rule.message.split(':')[0]}: {', '.join(drifted)}"


def _inputs(version: ModelVersion) -> int:
    return len(version.signature.get("inputs", []))


def run_demo(options: DemoOptions, echo: Callable[[str], None] = print) -> DemoResult:
    """Run the whole demo in ``options.folder`` (refused if it holds other work) and return how it ended."""
    from shipyard.demo.narration import quiet_loggers
    from shipyard.tracking import Client

    _require()
    scale = Scale(options.rows)
    folder = prepare(options.folder)
    write_project(folder, scale)
    store = folder / HOME_DIR
    client = Client(str(store), artifacts=str(store / "artifacts"), cwd=folder)
    try:
        with quiet_loggers():
            return Demo(options, echo).run(client, folder)
    finally:
        client.close()


def _require() -> None:
    """The optional libraries the demo uses, or one error naming the install line."""
    import importlib.util

    from shipyard.core.errors import MissingDependency

    wanted = {"pandas": "pandas", "sklearn": "scikit-learn", "skops": "skops", "fastapi": "fastapi", "scipy": "scipy"}
    missing = [package for module, package in wanted.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise MissingDependency(
            f"`shipyard demo` needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not "
            "installed. Install them with: pip install 'shipyard[sklearn,pandas,serve,monitor]'"
        )
