"""Performance floors and ceilings: ``min_metric`` and ``max_metric`` on the eval data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.gates.check import Check, Outcome, Param

if TYPE_CHECKING:
    from shipyard.gates.context import GateContext


def measure(ctx: GateContext, metric: str, *, champion: bool = False) -> float:
    """The metric of the candidate (or the champion) on the eval data, checked against the task."""
    from shipyard.gates.metrics import check_metric, compute

    check_metric(metric, ctx.task)
    return float(compute(metric, ctx.y_true, **ctx.metric_inputs(metric, champion=champion)))


class MinMetric(Check):
    kind = "min_metric"
    doc = "the metric on the eval data is at least the threshold"
    params = (
        Param("metric", str, doc="a metric name such as roc_auc, f1 or r2"),
        Param("threshold", float, doc="the lowest acceptable value"),
    )

    def run(self, ctx: GateContext) -> Outcome:
        value = measure(ctx, self["metric"])
        passed = value >= self["threshold"]
        relation = "≥" if passed else "<"
        return Outcome(
            passed,
            f"{self['metric']} {value:.4g} {relation} {self['threshold']:.4g}",
            measured={self["metric"]: value},
            threshold={"min": self["threshold"]},
        )


class MaxMetric(Check):
    kind = "max_metric"
    doc = "the metric on the eval data is at most the threshold (for errors and losses)"
    params = (
        Param("metric", str, doc="a metric name such as log_loss, rmse or mae"),
        Param("threshold", float, doc="the highest acceptable value"),
    )

    def run(self, ctx: GateContext) -> Outcome:
        value = measure(ctx, self["metric"])
        passed = value <= self["threshold"]
        relation = "≤" if passed else ">"
        return Outcome(
            passed,
            f"{self['metric']} {value:.4g} {relation} {self['threshold']:.4g}",
            measured={self["metric"]: value},
            threshold={"max": self["threshold"]},
        )


class MetricPolicy(Check):
    kind = "metric_policy"
    doc = "accuracy is not the primary metric when the minority class is rarer than min_share"
    params = (Param("min_share", float, required=False, default=0.2, minimum=0.0, maximum=0.5),)

    def run(self, ctx: GateContext) -> Outcome:
        import numpy as np

        primary = ctx.policy.primary_metric
        if ctx.task != "classification" or primary != "accuracy":
            return Outcome(
                True,
                f"primary metric {primary or 'not set'}: no accuracy paradox to guard against",
                measured={"primary_metric": primary or "—"},
            )
        _, counts = np.unique(ctx.y_true, return_counts=True)
        share = float(counts.min() / counts.sum())
        passed = share >= self["min_share"]
        return Outcome(
            passed,
            f"minority class is {share:.1%} of the eval rows; "
            + (
                "accuracy is a fair primary metric"
                if passed
                else "accuracy rewards always predicting the majority: "
                "make balanced_accuracy, f1, roc_auc or pr_auc the primary metric"
            ),
            measured={"minority_share": share},
            threshold={"min_share": self["min_share"]},
        )
