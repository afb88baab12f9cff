"""The closed loop: an alert retrains the model, the gate judges the result, a canary proves it, and it is
promoted — or rolled back — with every step recorded.

``[monitor.on_alert] retrain = "pipelines.py:training"`` makes a newly opened alert start a loop for the
monitor's model:

1. **retraining** — the pipeline runs (locally, as ``shipyard pipeline run`` would) on the latest data and
   registers a new version of the model (its training step has ``register="churn"``). A failing pipeline
   ends the loop as ``failed`` with an alert saying which step failed; the champion is untouched.
2. **gating** — the gate judges the new version on ``gate_data`` (default: the eval dataset of the
   champion's latest verdict, at its newest version) under the project's policy. A failing verdict ends
   the loop as ``blocked``, with an alert listing the failed checks.
3. **canary** — the version gets ``canary.share`` of the live traffic on every running server, through the
   registry (no restart). Once it has answered ``min_requests`` requests with feedback, it is compared with
   the champion on the live feedback of the same period, as the gate compares: the percentile bootstrap
   interval of (canary − champion) of the metric must not fall below ``−max_drop``. Then the version is
   **promoted** (the verdict of step 2 allows it) or the canary is **rolled back**.

At most one loop per model runs at a time (the store refuses a second). Each step is one row update plus an
audit event, and each step can be re-entered: a loop whose process died is carried on by the next
evaluation from the step it reached. A crash between promoting and closing the canary is recognised (the
candidate is already champion) and finished; a crash before promoting leaves the champion as it was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.core.actor import current_actor
from shipyard.core.entities import RunStatus, StepStatus
from shipyard.core.errors import Conflict, InvalidInput, NotFound, ShipyardError
from shipyard.gates import Gate

if TYPE_CHECKING:
    from shipyard.core.entities import LoopRecord, ModelVersion
    from shipyard.monitoring.config import MonitorSpec
    from shipyard.tracking import Client

log = logging.getLogger("shipyard.monitoring")

CANARY_METRIC = "accuracy"
RESAMPLES = 1000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class CanaryComparison:
    metric: str
    canary_requests: int
    canary_labels: int
    champion_labels: int
    difference: float | None = None
    low: float | None = None
    high: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class RetrainLoop:
    """The loop of one monitor's model (see the module's doc)."""

    def __init__(self, client: Client, spec: MonitorSpec, *, metric: str | None = None) -> None:
        if spec.on_alert.retrain is None:
            raise InvalidInput(f'Monitor {spec.name!r} has no [monitor.on_alert] retrain = "FILE.py:PIPELINE".')
        self.client = client
        self.spec = spec
        self.metric = metric or _live_metric_of(spec) or CANARY_METRIC
        self.store = client.backend.loops
        self.actor = current_actor()
        self.project = client.models.get(spec.model, project=spec.project).project

    # starting and carrying on ------------------------------------------------------------------------

    def start(self, alert_id: int | None, reason: str) -> LoopRecord | None:
        """Open a loop for the model and carry it as far as it goes now; None if one is already running."""
        champion = self._champion()
        versions = self.client.models.versions(self.spec.model_name, project=self.project)
        try:
            loop = self.store.start(
                self.project,
                self.spec.model_name,
                monitor=self.spec.name,
                alert_id=alert_id,
                champion_version=None if champion is None else champion.version,
                baseline_version=max((v.version for v in versions), default=0),
                actor=self.actor,
                message=f"retraining with {self.spec.on_alert.retrain}: {reason}",
            )
        except Conflict as exc:
            log.warning("%s; not starting another", exc)
            return None
        return self.advance(loop)

    def advance(self, loop: LoopRecord) -> LoopRecord:
        """Carry ``loop`` from the step it reached as far as it can go now (a canary waits for traffic)."""
        while not loop.finished:
            step = {"retraining": self._retrain, "gating": self._gate, "canary": self._canary}[loop.state]
            try:
                moved = step(loop)
            except ShipyardError as exc:
                moved = self._end(loop, "failed", f"{loop.state} failed: {exc}")
            if moved.state == loop.state and not moved.finished:  # waiting (a canary short of traffic)
                return moved
            loop = moved
        return loop

    # the steps ------------------------------------------------------------------------------------------

    def _retrain(self, loop: LoopRecord) -> LoopRecord:
        from shipyard.pipelines.targets import run_target

        target = self.spec.on_alert.retrain
        assert target is not None
        if loop.pipeline_run_id is not None:  # the process died while the pipeline ran: it is not resumed
            return self._end(loop, "failed", f"the retrain run {loop.pipeline_run_id} was interrupted; run it again")
        run = run_target(self.client, target)
        if run.failed_steps or run.status != RunStatus.FINISHED:
            failed = ", ".join(s.node for s in run.failed_steps) or "a step"
            return self._end(loop, "failed", f"the retrain pipeline failed ({failed}); the champion is untouched")
        candidate = self._candidate(loop)
        if candidate is None and any(step.status == StepStatus.CACHED for step in run.steps):
            return self._end(
                loop,
                "failed",
                "the retrain pipeline was served from its cache (its inputs have not changed since it last ran), so "
                "no new version was registered; the champion is untouched. Give it fresh data, or cache=False on the "
                "step that loads it",
            )
        if candidate is None:
            return self._end(
                loop,
                "failed",
                f"the retrain pipeline registered no new version of {self.spec.model_name!r}; give its training "
                f'step register="{self.spec.model_name}"',
            )
        message = f"{candidate.ref} trained by pipeline run {run.id}"
        return self.store.advance(
            loop.id,
            "gating",
            message,
            actor=self.actor,
            pipeline_run_id=run.id,
            candidate_version=candidate.version,
        )

    def _gate(self, loop: LoopRecord) -> LoopRecord:
        candidate = self._version(loop)
        data = self._gate_data()
        verdict = Gate(self.client).evaluate(candidate, data=data, project=candidate.project)
        if not verdict.passed:
            reasons = "; ".join(f"{c.name}: {c.message}" for c in verdict.failed) or "no check passed"
            return self._end(loop, "blocked", f"the gate blocked {candidate.ref}: {reasons}")
        if not verdict.binding:  # a pass that cannot promote: say so rather than fail at the promotion
            return self._end(loop, "blocked", f"the verdict on {candidate.ref} is a preview: {verdict.preview_reason}")
        canary = self.spec.on_alert.canary
        if canary is None:  # no canary asked for: the verdict is enough
            return self._promote(loop, candidate, f"the gate passed {candidate.ref} (verdict {verdict.id})")
        import time

        self.client.models.start_canary(
            candidate.name,
            candidate.version,
            canary.share,
            reason=f"retraining loop {loop.id}",
            project=candidate.project,
        )
        message = f"the gate passed {candidate.ref}; canary on {canary.share:.0%} of traffic"
        return self.store.advance(
            loop.id, "canary", message, actor=self.actor, canary_started_at=int(time.time() * 1000)
        )

    def _canary(self, loop: LoopRecord) -> LoopRecord:
        candidate = self._version(loop)
        champion = self._champion()
        if champion is not None and champion.version == candidate.version:  # promoted just before a crash
            self._end_canary(candidate, "promoted", loop)
            return self._end(loop, "promoted", f"{candidate.ref} is champion")
        comparison = self.compare(loop)
        canary = self.spec.on_alert.canary
        assert canary is not None
        if comparison.low is None:
            return loop  # still waiting for traffic and feedback
        summary = (
            f"{self.metric} canary − champion = {comparison.difference:+.4f} "
            f"({CONFIDENCE:.0%} interval {comparison.low:+.4f} … {comparison.high:+.4f}) on "
            f"{comparison.canary_labels} / {comparison.champion_labels} labels"
        )
        if comparison.low < -canary.max_drop:
            self._end_canary(candidate, "rolled_back", loop)
            return self._end(loop, "rolled_back", f"{candidate.ref} rolled back: {summary}")
        return self._promote(loop, candidate, summary, canary_running=True)

    # comparing ------------------------------------------------------------------------------------------

    def compare(self, loop: LoopRecord) -> CanaryComparison:
        """Canary vs champion on the feedback of requests answered since the canary started."""
        import pyarrow.compute as pc

        from shipyard.monitoring.live import labelled
        from shipyard.serving.predictions import read_feedback, read_predictions

        canary = self.spec.on_alert.canary
        assert canary is not None and loop.canary_started_at is not None
        project, model = self.project, self.spec.model_name
        since = loop.canary_started_at
        predictions = read_predictions(self.client.backend, project, model, since_ms=since)
        feedback = read_feedback(self.client.backend, project, model, since_ms=since)
        groups = {}
        for role in ("canary", "champion"):
            rows = (
                predictions.filter(pc.equal(predictions.column("role"), role)) if predictions.num_rows else predictions
            )
            groups[role] = (rows, labelled(self.metric, rows, feedback))
        rows, (truth, outputs) = groups["canary"]
        requests = len(set(rows.column("request_id").to_pylist())) if rows.num_rows else 0
        champion_truth, champion_outputs = groups["champion"][1]
        counts = {"canary_requests": requests, "canary_labels": len(truth), "champion_labels": len(champion_truth)}
        if requests < canary.min_requests or min(len(truth), len(champion_truth)) < 2:
            return CanaryComparison(self.metric, **counts)
        from shipyard.gates.metrics import compute
        from shipyard.gates.stats import bootstrap_replicates

        spec_kwargs = _metric_kwargs(self.metric)
        value = compute(self.metric, truth, **{spec_kwargs: outputs}) - compute(
            self.metric, champion_truth, **{spec_kwargs: champion_outputs}
        )
        ours = bootstrap_replicates(self.metric, truth, outputs, resamples=RESAMPLES, seed=1)[0]
        theirs = bootstrap_replicates(self.metric, champion_truth, champion_outputs, resamples=RESAMPLES, seed=2)[0]
        differences = (ours - theirs)[np.isfinite(ours - theirs)]
        tail = (1 - CONFIDENCE) / 2 * 100
        low, high = np.percentile(differences, [tail, 100 - tail])
        return CanaryComparison(self.metric, **counts, difference=float(value), low=float(low), high=float(high))

    # endings --------------------------------------------------------------------------------------------

    def _promote(
        self, loop: LoopRecord, candidate: ModelVersion, why: str, *, canary_running: bool = False
    ) -> LoopRecord:
        self.client.models.promote(candidate.ref, project=candidate.project)
        if canary_running:
            self._end_canary(candidate, "promoted", loop)
        return self._end(loop, "promoted", f"{candidate.ref} promoted to champion: {why}")

    def _end_canary(self, candidate: ModelVersion, outcome: str, loop: LoopRecord) -> None:
        running = self.client.models.canary(candidate.name, project=candidate.project)
        if running is not None and running.version == candidate.version:
            self.client.models.end_canary(
                candidate.name, outcome, reason=f"retraining loop {loop.id}", project=candidate.project
            )

    def _end(self, loop: LoopRecord, state: str, message: str) -> LoopRecord:
        ended = self.store.advance(loop.id, state, message, actor=self.actor)
        level = logging.WARNING if state in ("promoted",) else logging.ERROR
        log.log(level, "Retraining loop %d of %s: %s", loop.id, self.spec.model_name, message)
        if state in ("failed", "blocked", "rolled_back"):
            self.client.backend.monitors.raise_alert(
                loop.project,
                self.spec.name,
                f"retrain:{state}",
                model=self.spec.model_name,
                message=f"{self.spec.name}: retraining loop {loop.id} {state.replace('_', ' ')}: {message}",
                details={"loop": loop.id},
            )
        return ended

    # resolution -----------------------------------------------------------------------------------------

    def _champion(self) -> ModelVersion | None:
        try:
            return self.client.models.get(f"{self.spec.model_name}@champion", project=self.project)
        except NotFound:
            return None

    def _candidate(self, loop: LoopRecord) -> ModelVersion | None:
        versions = self.client.models.versions(self.spec.model_name, project=loop.project)
        newer = [v for v in versions if v.version > loop.baseline_version]
        return max(newer, key=lambda v: v.version) if newer else None

    def _version(self, loop: LoopRecord) -> ModelVersion:
        assert loop.candidate_version is not None
        return self.client.models.get(f"{loop.model}@{loop.candidate_version}", project=loop.project)

    def _gate_data(self) -> str | None:
        """The eval data: the monitor's ``gate_data``, else the policy's own (None), else the champion's last."""
        given = self.spec.on_alert.gate_data
        if given is not None:
            return given
        if Gate(self.client).policy_in_force(self.project).data is not None:
            return None
        champion = self._champion()
        if champion is not None:
            try:
                name = Gate(self.client).latest(champion).get("data", {}).get("name")
            except NotFound:
                name = None
            if name:
                return str(name)
        raise InvalidInput(
            f"Monitor {self.spec.name!r}: the retrained model needs eval data for the gate, and the champion has "
            'no verdict to take it from; set [monitor.on_alert] gate_data = "DATASET".'
        )


def _live_metric_of(spec: MonitorSpec) -> str | None:
    for rule in spec.rules:
        if rule.kind == "live_metric":
            return str(rule.values["metric"])
    return None


def _metric_kwargs(metric: str) -> str:
    from shipyard.gates.metrics import check_metric

    return "labels" if check_metric(metric).needs == "labels" else "scores"
