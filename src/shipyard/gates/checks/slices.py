"""``slice_metric``: every slice of the eval data large enough to judge meets the floor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipyard.gates.check import Check, CheckFailedToRun, Outcome, Param

if TYPE_CHECKING:
    from shipyard.gates.context import GateContext


class SliceMetric(Check):
    kind = "slice_metric"
    doc = "every slice of `by` with at least min_rows rows reaches `min` on the metric"
    params = (
        Param("by", list, doc="the columns whose value combinations make the slices"),
        Param("metric", str),
        Param("min", float, doc="the floor every slice must reach"),
        Param("min_rows", int, required=False, default=30, minimum=1),
        Param("max_drop", float, required=False, minimum=0.0, doc="how far a slice may fall below the champion's"),
    )

    def default_name(self) -> str:
        return f"slice_metric:{self.values.get('metric')}:{'+'.join(map(str, self.values.get('by', [])))}"

    def run(self, ctx: GateContext) -> Outcome:
        import numpy as np

        from shipyard.gates.metrics import check_metric, compute

        metric, by = self["metric"], [str(c) for c in self["by"]]
        check_metric(metric, ctx.task)
        missing = [c for c in by if c not in ctx.table.column_names]
        if missing:
            raise CheckFailedToRun(f"the eval data has no column(s) {', '.join(missing)} to slice by")
        keys = np.array(
            [
                " & ".join(f"{c}={v}" for c, v in zip(by, row, strict=True))
                for row in zip(*(ctx.table.column(c).to_pylist() for c in by), strict=True)
            ]
        )
        inputs = ctx.metric_inputs(metric)
        compare = self["max_drop"] is not None and ctx.champion is not None
        champion_inputs = ctx.metric_inputs(metric, champion=True) if compare else {}
        slices: list[dict[str, Any]] = []
        for key in sorted(set(keys.tolist())):
            mask = keys == key
            rows = int(mask.sum())
            if rows < self["min_rows"]:
                slices.append(
                    {
                        "slice": key,
                        "rows": rows,
                        "value": None,
                        "threshold": self["min"],
                        "passed": True,
                        "note": f"fewer than {self['min_rows']} rows: not judged",
                    }
                )
                continue
            try:
                value = float(compute(metric, ctx.y_true[mask], **{k: v[mask] for k, v in inputs.items()}))
            except Exception as exc:  # e.g. one class only in the slice: the metric is undefined there
                slices.append(
                    {
                        "slice": key,
                        "rows": rows,
                        "value": None,
                        "threshold": self["min"],
                        "passed": False,
                        "note": str(exc),
                    }
                )
                continue
            entry = {
                "slice": key,
                "rows": rows,
                "value": value,
                "threshold": self["min"],
                "passed": value >= self["min"],
            }
            if compare:
                # A slice may also not fall further below the champion's value on the same rows than max_drop.
                try:
                    before = float(
                        compute(metric, ctx.y_true[mask], **{k: v[mask] for k, v in champion_inputs.items()})
                    )
                except Exception:  # undefined for the champion on this slice: nothing to compare with
                    before = None
                if before is not None:
                    entry["champion"] = before
                    entry["threshold"] = max(self["min"], before - self["max_drop"])
                    entry["passed"] = value >= entry["threshold"]
            slices.append(entry)
        failing = [s for s in slices if not s["passed"]]
        judged = [s for s in slices if s["value"] is not None]
        worst = min(judged, key=lambda s: s["value"]) if judged else None
        message = (
            f"{len(failing)} of {len(slices)} slice(s) below {self['min']:.4g}: "
            + ", ".join(
                f"{s['slice']} ({s['value'] if s['value'] is None else round(s['value'], 4)})" for s in failing[:5]
            )
            if failing
            else f"all {len(judged)} judged slice(s) reach {self['min']:.4g}"
            + (f"; worst {worst['slice']} {worst['value']:.4g}" if worst else "")
        )
        return Outcome(
            not failing and bool(judged),
            message if judged else "no slice had enough rows to judge",
            measured={
                "slices": len(slices),
                "failing": len(failing),
                "worst": None if worst is None else worst["value"],
            },
            threshold={"min": self["min"], "min_rows": self["min_rows"]},
            evidence={"slices": slices},
        )
