"""Who the model serves badly, and what it should not know: ``fairness_gap`` and ``leakage_probe``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipyard.gates.check import Check, CheckFailedToRun, Outcome, Param

if TYPE_CHECKING:
    import numpy as np

    from shipyard.gates.context import GateContext

RATES = ("positive_rate", "tpr", "fpr", "accuracy")


class FairnessGap(Check):
    kind = "fairness_gap"
    doc = "the largest gap in a rate between groups of a protected attribute is at most max_gap"
    params = (
        Param("attribute", str, doc="the column holding the protected attribute"),
        Param("rate", str, required=False, default="tpr", choices=RATES),
        Param("max_gap", float, minimum=0.0, maximum=1.0),
        Param("min_rows", int, required=False, default=30, minimum=1),
    )

    def default_name(self) -> str:
        return f"fairness_gap:{self.values.get('rate', 'tpr')}:{self.values.get('attribute')}"

    def run(self, ctx: GateContext) -> Outcome:
        import numpy as np

        if ctx.task != "classification":
            raise CheckFailedToRun("fairness_gap compares classification rates; this task is regression")
        if self["attribute"] not in ctx.table.column_names:
            raise CheckFailedToRun(f"the eval data has no column {self['attribute']!r}")
        groups = np.asarray(ctx.table.column(self["attribute"]).to_pylist(), dtype=object)
        positive = np.max(np.unique(ctx.y_true))
        truth, predicted = ctx.y_true == positive, ctx.predictions == positive
        rows: list[dict[str, Any]] = []
        for group in sorted({g for g in groups.tolist()}, key=str):
            mask = groups == group
            value = _rate(self["rate"], truth[mask], predicted[mask], ctx.y_true[mask], ctx.predictions[mask])
            if mask.sum() >= self["min_rows"] and value is not None:
                rows.append({"group": str(group), "rows": int(mask.sum()), "value": value})
        if len(rows) < 2:
            raise CheckFailedToRun(
                f"fewer than two groups of {self['attribute']!r} have {self['min_rows']} rows and a defined "
                f"{self['rate']}"
            )
        best, worst = max(rows, key=lambda r: r["value"]), min(rows, key=lambda r: r["value"])
        gap = best["value"] - worst["value"]
        return Outcome(
            gap <= self["max_gap"],
            f"{self['rate']} gap across {self['attribute']}: {gap:.3f} ({best['group']} {best['value']:.3f}, "
            f"{worst['group']} {worst['value']:.3f}); allowed {self['max_gap']:.3f}",
            measured={"gap": gap},
            threshold={"max_gap": self["max_gap"]},
            evidence={
                "slices": [
                    {
                        "slice": f"{self['attribute']}={r['group']}",
                        "rows": r["rows"],
                        "value": r["value"],
                        "passed": True,
                    }
                    for r in rows
                ]
            },
        )


def _rate(rate: str, truth: np.ndarray, predicted: np.ndarray, y: np.ndarray, y_hat: np.ndarray) -> float | None:
    if rate == "positive_rate":
        return float(predicted.mean()) if len(predicted) else None
    if rate == "accuracy":
        return float((y == y_hat).mean()) if len(y) else None
    population = truth if rate == "tpr" else ~truth
    return float(predicted[population].mean()) if population.any() else None


class LeakageProbe(Check):
    kind = "leakage_probe"
    doc = "no single input predicts the label almost perfectly on its own (which usually means leakage)"
    params = (
        Param("max_auc", float, required=False, default=0.95, minimum=0.5, maximum=1.0),
        Param("max_abs_r", float, required=False, default=0.95, minimum=0.0, maximum=1.0),
    )

    def run(self, ctx: GateContext) -> Outcome:
        import numpy as np

        from shipyard.gates.metrics import compute

        y = ctx.y_true
        binary = ctx.task == "classification" and len(np.unique(y)) == 2
        if ctx.task == "classification" and not binary:
            raise CheckFailedToRun("leakage_probe handles binary classification and regression")
        found: list[dict[str, Any]] = []
        for name in ctx.input_columns:
            score = _as_score(ctx.features.column(name).to_pylist(), y)
            if score is None:
                continue
            if binary:
                auc = float(compute("roc_auc", y, scores=score))
                strength, limit, what = max(auc, 1 - auc), self["max_auc"], "AUC"
            else:
                strength, limit, what = abs(float(np.corrcoef(score, y.astype(float))[0, 1])), self["max_abs_r"], "|r|"
            found.append({"column": name, "measure": what, "value": strength, "flagged": strength > limit})
        flagged = [f for f in found if f["flagged"]]
        strongest = max(found, key=lambda f: f["value"]) if found else None
        message = (
            "pending review, single inputs predict the label almost perfectly: "
            + ", ".join(f"{f['column']} ({f['measure']} {f['value']:.3f})" for f in flagged)
            if flagged
            else "no single input predicts the label on its own"
            + (
                f"; strongest {strongest['column']} {strongest['measure']} {strongest['value']:.3f}"
                if strongest
                else ""
            )
        )
        return Outcome(
            not flagged,
            message,
            measured={"flagged": len(flagged)},
            threshold={"max_auc": self["max_auc"], "max_abs_r": self["max_abs_r"]},
            evidence={"table": found},
        )


def _as_score(values: list[Any], y: np.ndarray) -> np.ndarray | None:
    """A numeric score from one column: numbers as they are, categories by their mean label (target encoding)."""
    import numpy as np

    if any(v is None for v in values):
        return None
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        score = np.asarray(values, dtype=float)
        return None if np.ptp(score) == 0 else score
    keys = np.asarray([str(v) for v in values])
    numeric_y = y.astype(float) if y.dtype.kind in "iufb" else (y == np.max(y)).astype(float)
    means = {k: float(numeric_y[keys == k].mean()) for k in set(keys.tolist())}
    score = np.asarray([means[k] for k in keys])
    return None if np.ptp(score) == 0 else score
