"""The ML Test Score (Breck et al., 2017) of a project: which of the rubric's 28 tests Shipyard automates.

The rubric has four sections of seven tests: data, model development, ML infrastructure and monitoring.
A test earns 1 point when a system runs it automatically (0.5 when a person runs it by hand, which a
tool cannot see, so it is never awarded here). A section scores the sum of its tests; the final score is
the *lowest* section, so a project is only as ready as its weakest area.

A test counts as automated when the policy configures a check kind that runs it at every gate, or when
Shipyard itself does it on every run, dataset or model version (``PLATFORM``). What later releases will
bring (serving with canaries, prediction logs, monitors, retraining) is marked ``planned`` and earns
nothing yet.

>>> report = score(Policy())                  # no checks: only what Shipyard does on its own
>>> report.sections, report.final
({'data': 1.0, 'model': 0.0, 'infra': 3.0, 'monitor': 0.0}, 0.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from shipyard.gates.policy import CheckSpec, Policy

Section = Literal["data", "model", "infra", "monitor"]
Status = Literal["automated", "planned", "uncovered"]

SECTIONS: Mapping[Section, str] = {
    "data": "Data (features and data)",
    "model": "Model (model development)",
    "infra": "Infrastructure (ML infrastructure)",
    "monitor": "Monitoring",
}
AUTOMATED_POINTS = 1.0
_UNCOVERED_KEYS = ("id", "section", "title", "kinds", "planned", "hint")

# What Shipyard does on its own, whatever the policy says. Only what is built today belongs here.
PLATFORM: Mapping[str, str] = {
    "tracking": "every run records its params, metrics, git commit (and dirty flag), Python and package versions",
    "datasets": "dataset versions are immutable, addressed by digest, with a schema and per-column profile",
    "lineage": "each model version links to its training run, code commit and training dataset versions",
    "signature": "each model version's input signature is inferred when logged and checked on every predict",
    "packages": "any registered version loads on any machine with every file's digest verified",
    "registry": "aliases move atomically and every move (and gate override) is in the audit log",
    "rollback": "promotion keeps previous-champion, and `shipyard rollback` swaps them back",
}

# Built-in kinds that guard something the rubric has no test for; reported, never scored. The table also names
# the kinds of checks/operations.py (latency, memory, invariance, determinism_process) ahead of their registration.
OUTSIDE_RUBRIC: Mapping[str, str] = {
    "split_overlap": "guards against leakage between training and eval data, which no rubric test covers",
    "group_split": "guards against leakage between training and eval data, which no rubric test covers",
    "time_split": "guards against leakage between training and eval data, which no rubric test covers",
    "leakage_probe": "guards against an input that leaks the label, which no rubric test covers",
    "invariance": "guards robustness to perturbed inputs, which no rubric test covers",
    "metric_policy": "guards the choice of the primary metric, which no rubric test covers",
    "safe_format": "guards against code running when a model loads; security is outside the rubric",
}


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
class RubricItem:
    """One of the 28 tests: its id, section, a short title of our own, and how Shipyard can cover it."""

    id: str
    section: Section
    title: str
    kinds: tuple[By, ...] = ()
    platform: tuple[str, ...] = ()
    planned: str | None = None
    hint: str | None = None


def _by(*kinds: str) -> tuple[By, ...]:
    return tuple(By(kind) for kind in kinds)


_DATA_EXPECTATIONS = _by("schema", "completeness", "no_nan_inf", "min_rows", "class_balance")
_QUALITY = _by("min_metric", "max_metric", "no_regression", "beats_baseline", "mcnemar", "slice_metric")

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
        hint="a process measure: time from idea to a served feature",
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
        planned="live metrics from prediction logs and feedback, set beside the verdict's offline ones",
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
        planned="pipelines that run data, training and the gate as one, and automatic retraining",
    ),
    RubricItem("infra-4", "infra", "Quality is checked before a model is served", _QUALITY),
    RubricItem("infra-5", "infra", "One example can be traced through the model", platform=("packages", "lineage")),
    RubricItem(
        "infra-6",
        "infra",
        "A new model is tried on a little traffic first",
        _by("loads_clean", "bad_input"),
        planned="canary and shadow deployments in serving",
    ),
    RubricItem(
        "infra-7", "infra", "A served model can be rolled back quickly and safely", platform=("rollback", "registry")
    ),
    RubricItem(
        "monitor-1",
        "monitor",
        "Changes in upstream dependencies are announced to the team",
        hint="subscribe to the announcements of the systems that feed your data",
    ),
    RubricItem(
        "monitor-2",
        "monitor",
        "Serving inputs keep the training data's invariants",
        planned="data-quality monitors over prediction logs",
    ),
    RubricItem(
        "monitor-3",
        "monitor",
        "Features compute the same values in training and serving",
        planned="skew monitors comparing served inputs with the training profile",
    ),
    RubricItem(
        "monitor-4", "monitor", "A stale model is noticed", planned="model-age monitors and automatic retraining"
    ),
    RubricItem("monitor-5", "monitor", "Numerical trouble (NaN, infinity) is caught", _by("no_nan_inf")),
    RubricItem(
        "monitor-6",
        "monitor",
        "Latency, throughput and memory have not regressed",
        _by("latency", "memory"),
        planned="live latency and throughput measured by serving",
    ),
    RubricItem(
        "monitor-7",
        "monitor",
        "Live prediction quality has not regressed",
        planned="live performance from feedback on prediction logs",
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

    @property
    def status(self) -> Status:
        if self.checks or self.platform:
            return "automated"
        return "planned" if self.item.planned else "uncovered"

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
            "covered_by": {"checks": list(self.checks), "platform": list(self.platform)},
            "kinds": [str(by) for by in self.item.kinds],
            "planned": self.item.planned,
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
class ScoreReport:
    items: tuple[ItemScore, ...]
    unscored: tuple[UnscoredCheck, ...]
    source: str

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
        """The tests that earn nothing yet (planned or not), in rubric order."""
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
            "platform": dict(PLATFORM),
        }


def score(policy: Policy) -> ScoreReport:
    """Score ``policy`` and Shipyard's own automation against the ML Test Score rubric."""
    items = tuple(
        ItemScore(
            item=item,
            checks=tuple(c.name for c in policy.checks if any(by.matches(c) for by in item.kinds)),
            platform=item.platform,
        )
        for item in RUBRIC
    )
    scoring = {by.kind for item in RUBRIC for by in item.kinds}
    unscored = tuple(
        UnscoredCheck(c.name, c.kind, OUTSIDE_RUBRIC.get(c.kind, "a kind the rubric table does not know"))
        for c in policy.checks
        if c.kind not in scoring
    )
    return ScoreReport(items=items, unscored=unscored, source=policy.source)
