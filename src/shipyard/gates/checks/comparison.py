"""Against the current champion, on the same eval rows: ``no_regression`` and ``mcnemar``.

With no champion yet, a comparison passes only if the policy allows a first champion
(``[gate] allow_first``, true by default), and says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.gates.check import Check, CheckFailedToRun, Outcome, Param

if TYPE_CHECKING:
    from shipyard.gates.context import GateContext
    from shipyard.gates.stats import BootstrapResult


def no_champion(ctx: GateContext) -> Outcome:
    allowed = ctx.policy.allow_first
    return Outcome(
        allowed,
        f"no {ctx.champion_alias} to compare with; "
        + (
            "a first one is allowed ([gate] allow_first)"
            if allowed
            else "[gate] allow_first = false forbids a first one"
        ),
        measured={"champion": None},
    )


class NoRegression(Check):
    kind = "no_regression"
    doc = "the candidate is not worse than the champion by more than max_drop (paired bootstrap CI)"
    params = (
        Param("metric", str, doc="the metric to compare"),
        Param("max_drop", float, required=False, default=0.0, minimum=0.0),
        Param("confidence", float, required=False, default=0.95, minimum=0.5, maximum=0.999),
        Param("resamples", int, required=False, default=1000, minimum=100, maximum=100_000),
        Param("seed", int, required=False, default=0),
    )

    def run(self, ctx: GateContext) -> Outcome:
        from shipyard.gates.metrics import METRICS, check_metric
        from shipyard.gates.stats import paired_bootstrap

        if ctx.champion is None:
            return no_champion(ctx)
        metric = self["metric"]
        check_metric(metric, ctx.task)
        key = "scores" if METRICS[metric].needs == "scores" else "labels"
        champion_values = ctx.metric_inputs(metric, champion=True)[key]
        candidate_values = ctx.metric_inputs(metric)[key]
        confidence = 1 - (1 - self["confidence"]) / ctx.family_size  # Bonferroni over the challengers
        result = paired_bootstrap(
            metric,
            ctx.y_true,
            champion_values,
            candidate_values,
            resamples=self["resamples"],
            confidence=confidence,
            seed=self["seed"],
        )
        better_is_higher = METRICS[metric].greater_is_better
        worst_case = _worst_case(result, better_is_higher)
        passed = worst_case >= -self["max_drop"]
        change = result.difference if better_is_higher else -result.difference
        return Outcome(
            passed,
            f"{metric} change vs {ctx.champion.ref}: {change:+.4g} (worst case at {confidence:.2%}"
            + (f", Bonferroni over {ctx.family_size} challengers" if ctx.family_size > 1 else "")
            + f": {worst_case:+.4g}); allowed drop {self['max_drop']:.4g}",
            measured={"difference": result.difference, "low": result.low, "high": result.high},
            threshold={"max_drop": self["max_drop"], "confidence": confidence},
            evidence={
                "interval": _interval(result, confidence, -self["max_drop"] if better_is_higher else self["max_drop"]),
                "champion": ctx.champion.ref,
                "resamples": self["resamples"],
            },
        )


class McNemar(Check):
    kind = "mcnemar"
    doc = "the candidate's errors are not significantly more than the champion's (classifiers)"
    params = (Param("alpha", float, required=False, default=0.05, minimum=0.0001, maximum=0.5),)

    def run(self, ctx: GateContext) -> Outcome:
        from shipyard.gates.stats import mcnemar

        if ctx.task != "classification":
            raise CheckFailedToRun("mcnemar compares classifiers; this task is regression")
        if ctx.champion is None:
            return no_champion(ctx)
        champion_right = ctx.champion_predictions == ctx.y_true
        candidate_right = ctx.predictions == ctx.y_true
        result = mcnemar(champion_right, candidate_right)
        worse = result.b10 > result.b01  # champion right where the candidate is wrong, more often than not
        alpha = self["alpha"] / ctx.family_size  # Bonferroni over the challengers compared at once
        passed = not (worse and result.p_value < alpha)
        return Outcome(
            passed,
            f"champion-only correct {result.b10}, candidate-only correct {result.b01}, p = {result.p_value:.3g} "
            f"({result.method}); " + ("not significantly worse" if passed else f"significantly worse at α={alpha:.3g}"),
            measured={"champion_only": result.b10, "candidate_only": result.b01, "p_value": result.p_value},
            threshold={"alpha": self["alpha"]},
        )


class BeatsBaseline(Check):
    kind = "beats_baseline"
    doc = "the model beats a constant baseline (the training data's majority class or mean) on the same rows"
    params = (
        Param("metric", str),
        Param("confidence", float, required=False, default=0.95, minimum=0.5, maximum=0.999),
        Param("resamples", int, required=False, default=1000, minimum=100, maximum=100_000),
        Param("seed", int, required=False, default=0),
    )

    def run(self, ctx: GateContext) -> Outcome:
        import numpy as np

        from shipyard.gates.checks.data import training_table
        from shipyard.gates.metrics import METRICS, check_metric
        from shipyard.gates.stats import paired_bootstrap

        metric = self["metric"]
        spec = check_metric(metric, ctx.task)
        train = training_table(ctx)
        if ctx.label not in train.column_names:
            raise CheckFailedToRun(f"the training data has no label column {ctx.label!r}")
        labels = np.asarray(train.column(ctx.label).to_numpy(zero_copy_only=False))
        n = len(ctx.y_true)
        if spec.needs == "scores":
            positive = np.max(np.unique(ctx.y_true))
            baseline = np.full(n, float(np.mean(labels == positive)))  # the prior: a constant score
        elif ctx.task == "classification":
            classes, counts = np.unique(labels, return_counts=True)
            baseline = np.full(n, classes[np.argmax(counts)])
        else:
            baseline = np.full(n, float(np.mean(labels)))
        key = "scores" if spec.needs == "scores" else "labels"
        result = paired_bootstrap(
            metric,
            ctx.y_true,
            baseline,
            ctx.metric_inputs(metric)[key],
            resamples=self["resamples"],
            confidence=self["confidence"],
            seed=self["seed"],
        )
        worst_case = _worst_case(result, METRICS[metric].greater_is_better)
        return Outcome(
            worst_case > 0,
            f"{metric} vs the constant baseline: {result.difference:+.4g} "
            f"(worst case at {self['confidence']:.0%}: {worst_case:+.4g}; must be above 0)",
            measured={"difference": result.difference, "low": result.low, "high": result.high},
            threshold={"confidence": self["confidence"]},
            evidence={"interval": _interval(result, self["confidence"], 0.0)},
        )


def _worst_case(result: BootstrapResult, better_is_higher: bool) -> float:
    """The interval's end that is worst for the candidate, as a gain: "worse" depends on the metric's direction."""
    return result.low if better_is_higher else -result.high


def _interval(result: BootstrapResult, confidence: float, threshold: float) -> dict[str, float]:
    """The interval as the report draws it, at the confidence it was computed at."""
    return {
        "low": result.low,
        "high": result.high,
        "difference": result.difference,
        "confidence": confidence,
        "threshold": threshold,
    }
