"""The ML Test Score (Breck et al., 2017) of a project: which of the rubric's 28 tests Shipyard automates.

The rubric has four sections of seven tests: data, model development, ML infrastructure and monitoring.
A test earns 1 point when a system runs it automatically (0.5 when a person runs it by hand, which a
tool cannot see, so it is never awarded here). A section scores the sum of its tests; the final score is
the *lowest* section, so a project is only as ready as its weakest area.

A test counts as automated when the gate policy configures a check kind that runs it at every gate, when
a ``[[monitor]]`` of the project has a rule (or an ``on_alert`` action) that runs it on every window of
the prediction log, or when Shipyard itself does it on every run, dataset, model version or served
request (``PLATFORM``). The monitors are those of ``shipyard.monitoring.config.load_monitors``; this
module only reads the fields of ``MonitorLike``, so the gate layer does not import the monitoring one.

>>> report = score(Policy())                  # no checks, no monitors: only what Shipyard does on its own
>>> report.sections, report.final
({'data': 1.0, 'model': 0.0, 'infra': 3.0, 'monitor': 0.0}, 0.0)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from shipyard.gates.policy import CheckSpec, Policy

Section = Literal["data", "model", "infra", "monitor"]
Status = Literal["automated", "uncovered"]

SECTIONS: Mapping[Section, str] = {
    "data": "Data (features and data)",
    "model": "Model (model development)",
    "infra": "Infrastructure (ML infrastructure)",
    "monitor": "Monitoring",
}
AUTOMATED_POINTS = 1.0
_UNCOVERED_KEYS = ("id", "section", "title", "kinds", "monitor_rules", "hint")

# What Shipyard does on its own, whatever shipyard.toml says. Only what is built today belongs here.
PLATFORM: Mapping[str, str] = {
    "tracking": "every run records its params, metrics, git commit (and dirty flag), Python and package versions",
    "datasets": "dataset versions are immutable, addressed by digest, with a schema and per-column profile",
    "lineage": "each model version links to its training run, code commit and training dataset versions; "
    "a pipeline's lineage walks back through its steps (code, parameters, input digests) to the raw data",
    "signature": "each model version's input signature is inferred when logged and checked on every predict",
    "packages": "any registered version loads on any machine with every file's digest verified",
    "prediction_log": "serving logs every answer under its request id: inputs, predictions, version, role, latency",
    "registry": "aliases move atomically and every move (and gate override) is in the audit log",
    "rollback": "promotion keeps previous-champion; `shipyard rollback` swaps them back, and running servers "
    "serve the restored version within one poll, dropping no request",
}

# Built-in kinds that guard something the rubric has no test for; reported, never scored.
OUTSIDE_RUBRIC: Mapping[str, str] = {
    "split_overlap": "guards against leakage between training and eval data, which no rubric test covers",
    "group_split": "guards against leakage between training and eval data, which no rubric test covers",
    "time_split": "guards against leakage between training and eval data, which no rubric test covers",
    "leakage_probe": "guards against an input that leaks the label, which no rubric test covers",
    "invariance": "guards robustness to perturbed inputs, which no rubric test covers",
    "metric_policy": "guards the choice of the primary metric, which no rubric test covers",
    "safe_format": "guards against code running when a model loads; security is outside the rubric",
}

# Why a monitor rule earns nothing on its own (only rules that can earn nothing need a line).
RULE_NOTES: Mapping[str, str] = {
    "prediction_drift": "a label-free warning that the predictions moved; it counts for monitor-4 in a monitor "
    'whose [monitor.on_alert] has retrain = "FILE.py:PIPELINE", while monitor-7 asks for quality measured '
    'against labels: add kind = "live_metric"',
}


class RuleLike(Protocol):
    """What the score reads of a monitor rule (``shipyard.monitoring.config.RuleSpec``)."""

    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...


class OnAlertLike(Protocol):
    @property
    def retrain(self) -> str | None: ...
    @property
    def canary(self) -> object | None: ...


class MonitorLike(Protocol):
    """What the score reads of a ``[[monitor]]`` table (``shipyard.monitoring.config.MonitorSpec``)."""

    @property
    def name(self) -> str: ...
    @property
    def rules(self) -> Sequence[RuleLike]: ...
    @property
    def on_alert(self) -> OnAlertLike: ...


def _actions(monitor: MonitorLike) -> tuple[str, ...]:
    """The ``[monitor.on_alert]`` actions a monitor sets that the rubric can credit, in a fixed order."""
    return tuple(
        action
        for action, value in (("retrain", monitor.on_alert.retrain), ("canary", monitor.on_alert.canary))
        if value is not None
    )


@dataclass(frozen=True)
class By:
    """A check kind that automates a test; with ``param``, only when that parameter is true."""

    kind: str
    param: str | None = None

    def matches(self, check: CheckSpec) -> bool:
        return check.kind == self.kind and (self.param is None or bool(check.values.get(self.param)))

    def __str__(self) -> str:
        return self.kind if self.param is None else f"{self.kind} ({self.param} = true)"


@dataclass(frozen=True)
class ByMonitor:
    """A monitor that automates a test: one with a rule of one of ``rules`` (any rule when empty) and, with
    ``on_alert``, whose ``[monitor.on_alert]`` sets that action. ``add`` is what to write to get it."""

    rules: tuple[str, ...]
    add: str
    on_alert: Literal["retrain", "canary"] | None = None

    def credits(self, monitor: MonitorLike) -> tuple[str, ...]:
        """``monitor/rule`` (and ``monitor/on_alert.ACTION``) for each part of ``monitor`` that earns the test."""
        if self.on_alert is not None and self.on_alert not in _actions(monitor):
            return ()
        found = tuple(f"{monitor.name}/{rule.name}" for rule in monitor.rules if rule.kind in self.rules)
        if self.rules and not found:
            return ()
        return found + ((f"{monitor.name}/on_alert.{self.on_alert}",) if self.on_alert else ())

    def __str__(self) -> str:
        return self.add


@dataclass(frozen=True)
class RubricItem:
    """One of the 28 tests: its id, section, a short title of our own, and how Shipyard can cover it."""

    id: str
    section: Section
    title: str
    kinds: tuple[By, ...] = ()
    platform: tuple[str, ...] = ()
    rules: tuple[ByMonitor, ...] = ()
    hint: str | None = None


def _by(*kinds: str) -> tuple[By, ...]:
    return tuple(By(kind) for kind in kinds)


_DATA_EXPECTATIONS = _by("schema", "completeness", "no_nan_inf", "min_rows", "class_balance")
_QUALITY = _by("min_metric", "max_metric", "no_regression", "beats_baseline", "mcnemar", "slice_metric")
_RETRAIN = 'retrain = "FILE.py:PIPELINE" in [monitor.on_alert]'

RUBRIC: tuple[RubricItem, ...] = (
    RubricItem(
        "data-1",
        "data",
        "Expected feature values are written down as a schema",
        _DATA_EXPECTATIONS,
        ("datasets", "signature"),
    ),
    RubricItem(
        "data-2",
        "data",
        "Every feature earns its place",
        hint="ablation or importance studies per feature; no check kind does this yet",
    ),
    RubricItem(
        "data-3",
        "data",
        "No feature costs more than it brings",
        hint="weigh each feature's latency, memory and upkeep; no check kind does this yet",
    ),
    RubricItem(
        "data-4",
        "data",
        "Features obey project-wide rules (allowed sources, owners)",
        hint="a review of feature sources against a list of rules",
    ),
    RubricItem(
        "data-5",
        "data",
        "Sensitive data in the pipeline is protected",
        hint="PII scanning and access control on datasets; split checks guard leakage, not privacy",
    ),
    RubricItem(
        "data-6",
        "data",
        "A new feature reaches production quickly",
        hint="a process measure: time from idea to a served feature (cached pipelines shorten it, not measure it)",
    ),
    RubricItem("data-7", "data", "Feature-building code has tests", hint="unit tests of your feature code in your CI"),
    RubricItem(
        "model-1",
        "model",
        "Model code is reviewed and committed",
        (By("lineage_complete", "require_clean_tree"),),
        hint="code review happens in your forge; the check proves the commit",
    ),
    RubricItem(
        "model-2",
        "model",
        "Offline metrics track online impact",
        hint="relate the offline metric to your product's impact metric (revenue, engagement) in A/B tests with "
        "a deliberately worse model; a canary can host them, but live_metric watches the offline metric itself",
    ),
    RubricItem(
        "model-3",
        "model",
        "Hyperparameters are tuned",
        hint="a hyperparameter search; runs record params for comparison but nothing tunes them",
    ),
    RubricItem("model-4", "model", "The cost of an ageing model is measured", _by("no_regression", "mcnemar")),
    RubricItem("model-5", "model", "A simpler model does not do as well", _by("beats_baseline")),
    RubricItem("model-6", "model", "Quality holds on every important slice", _by("slice_metric")),
    RubricItem(
        "model-7",
        "model",
        "The model is checked for fairness across groups",
        _by("fairness_gap"),
    ),
    RubricItem(
        "infra-1",
        "infra",
        "Training can be reproduced",
        _by("determinism", "determinism_process", "lineage_complete"),
        ("tracking", "datasets", "lineage"),
    ),
    RubricItem("infra-2", "infra", "Model code has unit tests", hint="unit tests of your training code in your CI"),
    RubricItem(
        "infra-3",
        "infra",
        "The whole pipeline is tested end to end",
        rules=(ByMonitor((), _RETRAIN, "retrain"),),
        hint="the retraining loop runs data, training, the gate, the canary and promotion as one; "
        "`shipyard pipeline schedule` runs the pipeline on a timer too",
    ),
    RubricItem("infra-4", "infra", "Quality is checked before a model is served", _QUALITY),
    RubricItem(
        "infra-5",
        "infra",
        "One example can be traced through the model",
        platform=("packages", "lineage", "prediction_log"),
    ),
    RubricItem(
        "infra-6",
        "infra",
        "A new model is tried on a little traffic first",
        _by("loads_clean", "bad_input"),
        rules=(ByMonitor((), f"{_RETRAIN} with canary = {{ share = 0.1 }}", "canary"),),
        hint="`shipyard models canary` or `serve --shadow` by hand is a half point you may count yourself",
    ),
    RubricItem(
        "infra-7", "infra", "A served model can be rolled back quickly and safely", platform=("rollback", "registry")
    ),
    RubricItem(
        "monitor-1",
        "monitor",
        "Changes in upstream dependencies are announced to the team",
        hint="subscribe to the announcements of the systems that feed your data; drift rules catch only the "
        "changes that move the data",
    ),
    RubricItem(
        "monitor-2",
        "monitor",
        "Serving inputs keep the training data's invariants",
        rules=(
            ByMonitor(("data_quality",), '[[monitor.rules]] kind = "data_quality", max_out_of_domain_share = 0.05'),
        ),
    ),
    RubricItem(
        "monitor-3",
        "monitor",
        "Features compute the same values in training and serving",
        rules=(ByMonitor(("feature_drift",), '[[monitor.rules]] kind = "feature_drift"'),),
    ),
    RubricItem(
        "monitor-4",
        "monitor",
        "A stale model is noticed",
        rules=(
            ByMonitor(
                ("feature_drift", "prediction_drift", "live_metric"),
                f"a feature_drift, prediction_drift or live_metric rule and {_RETRAIN}",
                "retrain",
            ),
        ),
    ),
    RubricItem("monitor-5", "monitor", "Numerical trouble (NaN, infinity) is caught", _by("no_nan_inf")),
    RubricItem(
        "monitor-6",
        "monitor",
        "Latency, throughput and memory have not regressed",
        _by("latency", "memory"),
        hint="serving measures live latency (/metrics, latency_ms in the prediction log) but no monitor rule "
        "judges it: alert on it in Prometheus",
    ),
    RubricItem(
        "monitor-7",
        "monitor",
        "Live prediction quality has not regressed",
        rules=(
            ByMonitor(
                ("live_metric",),
                '[[monitor.rules]] kind = "live_metric", metric = "roc_auc", min = 0.75 (and send POST /feedback)',
            ),
        ),
    ),
)

# The paper's reading of a final score, in our words: (upper bound, meaning), first match wins.
BANDS: tuple[tuple[float, str], ...] = (
    (0.0, "a research project more than a production system"),
    (1.0, "not untested, but expect serious gaps in reliability"),
    (2.0, "a first pass at production readiness; more investment is needed"),
    (3.0, "reasonably tested; more of it could be automated"),
    (5.0, "strong automated testing and monitoring, fit for critical systems"),
    (float("inf"), "exceptional automated testing and monitoring"),
)


def interpret(final: float) -> str:
    """What a final score means, after the bands of the paper."""
    return next(meaning for bound, meaning in BANDS if final <= bound)


@dataclass(frozen=True)
class ItemScore:
    item: RubricItem
    checks: tuple[str, ...]
    """Names of the policy's checks that automate the test."""
    platform: tuple[str, ...]
    monitors: tuple[str, ...] = ()
    """``monitor/rule`` and ``monitor/on_alert.ACTION`` of the monitors that automate the test."""

    @property
    def status(self) -> Status:
        return "automated" if self.checks or self.monitors or self.platform else "uncovered"

    @property
    def points(self) -> float:
        return AUTOMATED_POINTS if self.status == "automated" else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.item.id,
            "section": self.item.section,
            "title": self.item.title,
            "status": self.status,
            "points": self.points,
            "covered_by": {
                "checks": list(self.checks),
                "monitors": list(self.monitors),
                "platform": list(self.platform),
            },
            "kinds": [str(by) for by in self.item.kinds],
            "monitor_rules": [str(by) for by in self.item.rules],
            "hint": self.item.hint,
        }


@dataclass(frozen=True)
class UnscoredCheck:
    name: str
    kind: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind, "reason": self.reason}


@dataclass(frozen=True)
class RuleScore:
    """One rule (or ``on_alert.ACTION``) of a monitor and the tests it earns; ``reason`` when it earns none."""

    monitor: str
    rule: str
    kind: str
    earns: tuple[str, ...]
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "rule": self.rule,
            "kind": self.kind,
            "earns": list(self.earns),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ScoreReport:
    items: tuple[ItemScore, ...]
    unscored: tuple[UnscoredCheck, ...]
    source: str
    rules: tuple[RuleScore, ...] = ()
    """Every rule and ``on_alert`` action of the monitors, with what it earns."""

    @property
    def sections(self) -> dict[Section, float]:
        return {section: sum(s.points for s in self.items if s.item.section == section) for section in SECTIONS}

    @property
    def final(self) -> float:
        return min(self.sections.values())

    @property
    def interpretation(self) -> str:
        return interpret(self.final)

    @property
    def uncovered(self) -> tuple[ItemScore, ...]:
        """The tests that earn nothing yet, in rubric order."""
        return tuple(s for s in self.items if s.status != "automated")

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.source,
            "tests": [s.to_dict() for s in self.items],
            "sections": self.sections,
            "final": self.final,
            "interpretation": self.interpretation,
            "uncovered": [
                {key: value for key, value in s.to_dict().items() if key in _UNCOVERED_KEYS} for s in self.uncovered
            ],
            "unscored_checks": [u.to_dict() for u in self.unscored],
            "monitor_rules": [r.to_dict() for r in self.rules],
            "platform": dict(PLATFORM),
        }


def score(policy: Policy, monitors: Iterable[MonitorLike] = ()) -> ScoreReport:
    """Score ``policy``, the project's ``monitors`` and Shipyard's own automation against the rubric.

    ``monitors`` are ``[[monitor]]`` tables as ``shipyard.monitoring.config.load_monitors`` reads and validates
    them: ``score(load_policy(root), monitors=load_monitors(root))`` scores the ``shipyard.toml`` in ``root``.
    """
    watched = tuple(monitors)
    items = tuple(
        ItemScore(
            item=item,
            checks=tuple(c.name for c in policy.checks if any(by.matches(c) for by in item.kinds)),
            platform=item.platform,
            monitors=tuple(credit for m in watched for by in item.rules for credit in by.credits(m)),
        )
        for item in RUBRIC
    )
    scoring = {by.kind for item in RUBRIC for by in item.kinds}
    unscored = tuple(
        UnscoredCheck(c.name, c.kind, OUTSIDE_RUBRIC.get(c.kind, "a kind the rubric table does not know"))
        for c in policy.checks
        if c.kind not in scoring
    )
    return ScoreReport(items=items, unscored=unscored, source=policy.source, rules=_rule_scores(watched, items))


def _rule_scores(monitors: Sequence[MonitorLike], items: Sequence[ItemScore]) -> tuple[RuleScore, ...]:
    def earns(credit: str) -> tuple[str, ...]:
        return tuple(s.item.id for s in items if credit in s.monitors)

    found: list[RuleScore] = []
    for monitor in monitors:
        parts = [(rule.name, rule.kind) for rule in monitor.rules]
        parts += [(f"on_alert.{action}", f"on_alert.{action}") for action in _actions(monitor)]
        for name, kind in parts:
            earned = earns(f"{monitor.name}/{name}")
            reason = None if earned else RULE_NOTES.get(kind, "a rule kind the rubric table does not know")
            found.append(RuleScore(monitor.name, name, kind, earned, reason))
    return tuple(found)
