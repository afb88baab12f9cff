"""Evaluating monitors: windows of the prediction log against the training data's reference, rules, alerts.

``Monitoring(client, monitors).run()`` evaluates every complete window each monitor has not evaluated yet
(``shipyard monitor run``, cron-friendly); ``watch`` does so every few seconds (``shipyard monitor watch``).
For each window it stores the rules' outcomes and the drift reports (for charts and ``monitor report``); a
rule that fires opens an alert — or adds the window to the rule's unresolved one — and posts it to the
monitor's webhook; a rule that passes again resolves its alert.

The reference a window is compared with is the summary of the training dataset recorded with the served
version (``train_data=`` when it was logged), computed once and stored beside the dataset version; the
prediction reference is the version's own predictions on that data. A monitor whose model records no
training data is refused when the configuration is loaded: there is nothing to compare with.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core._progress import progress
from shipyard.core.errors import InvalidInput, NotFound
from shipyard.monitoring.config import MonitorSpec, find_monitor, load_monitors
from shipyard.monitoring.notify import post_json
from shipyard.monitoring.rules import FAIL, INSUFFICIENT, PASS, RuleResult, WindowInputs, evaluate, streak_fires
from shipyard.monitoring.windows import CATCH_UP, Window, due_windows

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

    from shipyard.core.entities import Alert, DatasetVersion, LoopRecord, ModelVersion
    from shipyard.monitoring.reference import Reference
    from shipyard.monitoring.statistics import DriftReport
    from shipyard.tracking import Client

log = logging.getLogger("shipyard.monitoring")

PREDICTION_SAMPLE = 100_000  # training rows the model predicts on for the prediction reference


@dataclass
class WindowOutcome:
    start_at: int
    end_at: int
    rows: int
    status: str
    rules: list[RuleResult]
    fired: list[str] = field(default_factory=list)
    drift: dict[str, DriftReport] = field(default_factory=dict, compare=False)
    """The drift reports the rules computed, by rule name (stored with the window; drawn in a notebook)."""

    def __repr__(self) -> str:
        from shipyard.monitoring.display import window_line

        return window_line(self.to_dict())

    def _repr_html_(self) -> str:
        from shipyard.monitoring.display import window_html

        return window_html(self._with_drift())

    def _with_drift(self) -> dict[str, Any]:
        return {**self.to_dict(), "drift": {name: report.to_dict() for name, report in self.drift.items()}}

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_at": self.start_at,
            "end_at": self.end_at,
            "rows": self.rows,
            "status": self.status,
            "fired": self.fired,
            "rules": [r.to_dict() for r in self.rules],
        }


@dataclass
class MonitorOutcome:
    monitor: str
    model: str
    windows: list[WindowOutcome] = field(default_factory=list)
    opened: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)
    loops: list[LoopRecord] = field(default_factory=list)

    @property
    def firing(self) -> bool:
        return any(w.fired for w in self.windows)

    def __repr__(self) -> str:
        from shipyard.monitoring.display import outcome_line

        return outcome_line(self.to_dict())

    def _repr_html_(self) -> str:
        from shipyard.monitoring.display import outcome_html

        return outcome_html({**self.to_dict(), "windows": [w._with_drift() for w in self.windows]})

    def to_dict(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "model": self.model,
            "windows": [w.to_dict() for w in self.windows],
            "opened": [a.id for a in self.opened],
            "resolved": [a.id for a in self.resolved],
            "loops": [loop.to_dict() for loop in self.loops],
        }


class Monitoring:
    """The monitors of a project, bound to a client."""

    def __init__(
        self,
        client: Client,
        monitors: Sequence[MonitorSpec],
        *,
        catch_up: int = CATCH_UP,
        webhook_backoff: float = 0.5,
    ) -> None:
        self.client = client
        self.monitors = list(monitors)
        self.catch_up = catch_up
        self.webhook_backoff = webhook_backoff
        self._references: dict[str, Reference] = {}

    @classmethod
    def from_config(cls, client: Client, file: Path | None = None, **options: Any) -> Monitoring:
        """The monitors of ``shipyard.toml`` (or ``file``), each checked against the registry."""
        monitoring = cls(client, load_monitors(client.settings.root, file), **options)
        monitoring.check()
        return monitoring

    def check(self) -> None:
        """Refuse monitors whose model cannot be resolved or records no training data to compare with."""
        for spec in self.monitors:
            version = self._version(spec)
            self._training(spec, version)
            inputs = [c["name"] for c in version.signature.get("inputs", [])]
            for rule in spec.rules:
                unknown = [c for c in rule.values.get("columns") or () if c not in inputs]
                if unknown:
                    raise InvalidInput(
                        f"Monitor {spec.name!r} ({spec.source}), rule {rule.name!r}: {version.ref} has no input "
                        f"{', '.join(map(repr, unknown))}; its inputs: {', '.join(inputs)}."
                    )

    def get(self, name: str) -> MonitorSpec:
        return find_monitor(self.monitors, name)

    # evaluating ---------------------------------------------------------------------------------------

    def run(self, names: Sequence[str] | None = None, *, now_ms: int | None = None) -> list[MonitorOutcome]:
        """Evaluate the monitors' due windows (all monitors, or those named)."""
        chosen = [self.get(name) for name in names] if names else self.monitors
        now = int(time.time() * 1000) if now_ms is None else now_ms
        return [self._run(spec, now) for spec in chosen]

    def watch(
        self,
        interval: float,
        stop: threading.Event,
        report: Callable[[list[MonitorOutcome]], None] | None = None,
    ) -> None:
        """Evaluate every ``interval`` seconds until ``stop`` is set, handing each evaluation's outcomes to
        ``report``; a failing evaluation (the store briefly unreachable, say) is logged, and the next one tried."""
        while not stop.is_set():
            try:
                outcomes = self.run()
            except Exception:
                log.exception("Evaluating the monitors failed; trying again in %s s", interval)
            else:
                if report is not None:
                    report(outcomes)
            stop.wait(interval)

    def _run(self, spec: MonitorSpec, now: int) -> MonitorOutcome:
        version = self._version(spec)
        project = version.project
        store = self.client.backend.monitors
        outcome = MonitorOutcome(spec.name, spec.model)
        self._retry_notifications(spec, project)  # deliveries that failed in an earlier evaluation
        self._carry_on_loops(spec, project, outcome)
        last = store.last_window(project, spec.name)
        windows = due_windows(
            self.client.backend,
            spec,
            project,
            after_ms=None if last is None else last.end_at,
            now_ms=now,
            catch_up=self.catch_up,
        )
        if not windows:
            return outcome
        depth = max(rule.for_windows for rule in spec.rules)
        past = store.windows(project, spec.name, limit=depth)
        history = {
            rule.name: [w.results.get("rules", {}).get(rule.name, {}).get("status", INSUFFICIENT) for w in past]
            for rule in spec.rules
        }
        with progress(f"monitor {spec.name}", total=len(windows), unit="windows") as tick:  # in a notebook only
            for window in windows:
                tick(len(outcome.windows))
                outcome.windows.append(self._window(spec, version, window, history, outcome))
        return outcome

    def _window(
        self,
        spec: MonitorSpec,
        version: ModelVersion,
        window: Window,
        history: dict[str, list[str]],
        outcome: MonitorOutcome,
    ) -> WindowOutcome:
        inputs = WindowInputs(
            table=window.table,
            inputs=self.reference(spec, version),
            input_columns=[c["name"] for c in version.signature.get("inputs", [])],
            min_rows=spec.min_rows,
            predictions=lambda: self.prediction_reference(spec, version),
            feedback=lambda: self._feedback(spec, version.project, window.start_at),
        )
        results = [evaluate(rule, inputs) for rule in spec.rules]
        statuses = {r.status for r in results}
        status = FAIL if FAIL in statuses else PASS if PASS in statuses else INSUFFICIENT
        result = WindowOutcome(window.start_at, window.end_at, window.rows, status, results, drift=inputs.drift_reports)
        self.client.backend.monitors.add_window(
            version.project,
            spec.name,
            model=spec.model_name,
            version=version.version,
            start_at=window.start_at,
            end_at=window.end_at,
            rows=window.rows,
            status=status,
            results={
                "rules": {r.rule: r.to_dict() for r in results},
                "drift": {name: report.to_dict() for name, report in inputs.drift_reports.items()},
                "versions": window.versions,
            },
        )
        for rule, rule_result in zip(spec.rules, results, strict=True):
            if streak_fires(rule, history[rule.name], rule_result.status):
                result.fired.append(rule.name)
                self._alert(spec, version.project, rule_result, window, outcome)
            elif rule_result.status == PASS:
                self._resolve(spec, version.project, rule_result, outcome)
            history[rule.name].append(rule_result.status)
        return result

    # alerts ---------------------------------------------------------------------------------------------

    def _alert(
        self, spec: MonitorSpec, project: str, result: RuleResult, window: Window, outcome: MonitorOutcome
    ) -> None:
        details = {**result.details, "window": [window.start_at, window.end_at], "rows": window.rows}
        message = f"{spec.name}: {result.message}"
        alert, new = self.client.backend.monitors.raise_alert(
            project, spec.name, result.rule, model=spec.model_name, message=message, details=details
        )
        if new:
            outcome.opened.append(alert)
            log.warning("Alert %d opened: %s", alert.id, message)
            self._notify(spec, alert, "opened")
            if spec.on_alert.retrain is not None and not result.rule.startswith("retrain:"):
                from shipyard.monitoring.loop import RetrainLoop

                loop = RetrainLoop(self.client, spec).start(alert.id, message)
                if loop is not None:
                    outcome.loops.append(loop)

    def _resolve(self, spec: MonitorSpec, project: str, result: RuleResult, outcome: MonitorOutcome) -> None:
        alert = self.client.backend.monitors.resolve_rule(project, spec.name, result.rule)
        if alert is not None:
            outcome.resolved.append(alert)
            log.warning("Alert %d resolved: %s", alert.id, result.message)
            self._notify(spec, alert, "resolved")

    def _notify(self, spec: MonitorSpec, alert: Alert, event: str) -> None:
        hook = spec.on_alert
        if hook.webhook is None:
            return
        payload = {"event": event, "monitor": spec.name, "model": spec.model, "alert": alert.to_dict()}
        delivery = post_json(
            hook.webhook,
            payload,
            timeout=hook.webhook_timeout,
            retries=hook.webhook_retries,
            backoff=self.webhook_backoff,
        )
        state = "sent" if delivery.ok else "failed"
        self.client.backend.monitors.set_notification(alert.id, state, attempts=delivery.attempts, error=delivery.error)

    def _retry_notifications(self, spec: MonitorSpec, project: str) -> None:
        if spec.on_alert.webhook is None:
            return
        try:
            unresolved = self.client.backend.monitors.alerts(project, states=("open",), monitor=spec.name)
        except NotFound:  # nothing stored for this project yet
            return
        for alert in unresolved:
            if alert.notify_state == "failed":
                self._notify(spec, alert, "opened")

    def _carry_on_loops(self, spec: MonitorSpec, project: str, outcome: MonitorOutcome) -> None:
        """Carry on this monitor's unfinished retraining loops: a canary waiting for traffic, or a loop whose
        process died mid-step."""
        if spec.on_alert.retrain is None:
            return
        from shipyard.monitoring.loop import RetrainLoop

        for loop in self.client.backend.loops.loops(project, model=spec.model_name, unfinished=True):
            if loop.monitor == spec.name:
                outcome.loops.append(RetrainLoop(self.client, spec).advance(loop))

    # references ---------------------------------------------------------------------------------------

    def reference(self, spec: MonitorSpec, version: ModelVersion | None = None) -> Reference:
        """The summary of the training data of ``version`` (default: the one ``spec.model`` resolves to),
        computed once and stored."""
        dataset = self._training(spec, version or self._version(spec))
        return self._stored(f"dataset:{dataset.digest}", lambda: self._build_inputs(dataset))

    def prediction_reference(self, spec: MonitorSpec, version: ModelVersion | None = None) -> Reference:
        """The summary of the version's predictions on (a sample of) its training data."""
        version = version or self._version(spec)
        dataset = self._training(spec, version)
        key = f"predictions:{version.project}/{version.name}@{version.version}:{dataset.digest}"
        return self._stored(key, lambda: self._build_predictions(version, dataset))

    def _stored(self, key: str, build: Callable[[], Reference]) -> Reference:
        from shipyard.monitoring.reference import REFERENCE_FORMAT, Reference

        if key in self._references:
            return self._references[key]
        store, blobs = self.client.backend.monitors, self.client.backend.blobs
        found = store.get_reference(key)
        if found is not None and found[1] == REFERENCE_FORMAT and blobs.exists(found[0]):
            reference = Reference.from_bytes(blobs.read_bytes(found[0]))
        else:
            reference = build()
            digest, _size = blobs.put_bytes(reference.to_bytes())
            store.put_reference(key, digest, REFERENCE_FORMAT)
        self._references[key] = reference
        return reference

    def _build_inputs(self, dataset: DatasetVersion) -> Reference:
        from shipyard.monitoring.reference import Reference

        return Reference.build(self.client.datasets.load(dataset, project=dataset.project))

    def _build_predictions(self, version: ModelVersion, dataset: DatasetVersion) -> Reference:
        import pyarrow as pa

        from shipyard.monitoring.reference import Reference

        table = self.client.datasets.load(dataset, project=dataset.project)
        if table.num_rows > PREDICTION_SAMPLE:
            table = table.slice(0, PREDICTION_SAMPLE)
        loaded = self.client.models.load(version)
        columns = [c["name"] for c in version.signature.get("inputs", [])]
        predictions = loaded.predict(table.select(columns))
        return Reference.build(pa.table({"prediction": pa.array(predictions)}))

    # resolution ---------------------------------------------------------------------------------------

    def _version(self, spec: MonitorSpec) -> ModelVersion:
        try:
            return self.client.models.get(spec.model, project=spec.project)
        except NotFound as exc:
            raise NotFound(f"Monitor {spec.name!r} ({spec.source}): {exc}") from None

    def _training(self, spec: MonitorSpec, version: ModelVersion) -> DatasetVersion:
        ref = dict(version.datasets).get("train")
        if ref is None:
            raise InvalidInput(
                f"Monitor {spec.name!r} ({spec.source}): {version.ref} records no training dataset, so there is no "
                "reference to compare its traffic with. Log the model with its training data — "
                "client.models.log(model, name, train_data=DATASET) or run.log_model(..., train_data=DATASET) — "
                "and serve that version."
            )
        return self.client.datasets.get(ref, project=version.project)

    def _feedback(self, spec: MonitorSpec, project: str, since_ms: int) -> pa.Table:
        from shipyard.serving.predictions import read_feedback

        return read_feedback(self.client.backend, project, spec.model_name, since_ms=since_ms)
