"""Checks on the eval data itself, and on how it relates to the training data.

``schema`` and ``completeness`` compare against the training dataset version the model version records
(``train_data=`` when it was logged); without one they cannot run, and say so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipyard.gates.check import Check, CheckFailedToRun, Outcome, Param

if TYPE_CHECKING:
    import pyarrow as pa

    from shipyard.core.entities import DatasetVersion
    from shipyard.gates.context import GateContext


def training(ctx: GateContext) -> DatasetVersion:
    if ctx.train_version is None:
        raise CheckFailedToRun(
            f"{ctx.version.ref} records no training dataset; log it with run.log_model(..., train_data=DATASET)"
        )
    return ctx.train_version


def training_table(ctx: GateContext) -> pa.Table:
    """The training data itself, read once per gate run however many checks need it."""
    training(ctx)
    return ctx.train_table


def _columns(version: DatasetVersion) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in version.schema.get("columns", [])}


class SchemaCheck(Check):
    kind = "schema"
    doc = "the eval data has the training data's input columns, with the same types and known categories"
    params = (Param("allow_new_categories", bool, required=False, default=False),)

    def run(self, ctx: GateContext) -> Outcome:
        train, evaluation = _columns(training(ctx)), _columns(ctx.dataset)
        problems: dict[str, str] = {}
        for name in ctx.input_columns:
            if name not in evaluation:
                problems[name] = "missing from the eval data"
            elif name in train and train[name]["logical_type"] != evaluation[name]["logical_type"]:
                problems[name] = f"{evaluation[name]['logical_type']} here, {train[name]['logical_type']} in training"
            elif not self["allow_new_categories"] and name in train:
                known, seen = train[name].get("domain"), evaluation[name].get("domain")
                if known is not None and seen is not None:
                    new = sorted(set(seen) - set(known))
                    if new:
                        problems[name] = f"values unseen in training: {', '.join(map(str, new[:5]))}"
        message = "; ".join(f"{k}: {v}" for k, v in problems.items()) or "eval columns match the training schema"
        return Outcome(not problems, message, measured={"problems": len(problems)}, evidence={"problems": problems})


class Completeness(Check):
    kind = "completeness"
    doc = "no input column has a much larger share of missing values than in training"
    params = (Param("max_increase", float, required=False, default=0.05, minimum=0.0, maximum=1.0),)

    def run(self, ctx: GateContext) -> Outcome:
        train = {c["name"]: c for c in training(ctx).profile.get("columns", [])}
        evaluation = {c["name"]: c for c in ctx.dataset.profile.get("columns", [])}
        rows: list[dict[str, Any]] = []
        for name in ctx.input_columns:
            if name not in evaluation:
                raise CheckFailedToRun(f"the eval data lacks the input column {name!r}")
            share = _null_share(evaluation[name])
            baseline = _null_share(train[name]) if name in train else 0.0
            rows.append({"column": name, "eval": share, "train": baseline, "increase": share - baseline})
        worst = max(rows, key=lambda r: r["increase"])
        passed = worst["increase"] <= self["max_increase"]
        return Outcome(
            passed,
            f"largest rise in missing values: {worst['column']} {worst['train']:.2%} → {worst['eval']:.2%}",
            measured={"max_increase": worst["increase"]},
            threshold={"max_increase": self["max_increase"]},
            evidence={"table": rows},
        )


def _null_share(profile: dict[str, Any]) -> float:
    total = profile.get("count", 0) + profile.get("nulls", 0)
    return float(profile.get("nulls", 0)) / total if total else 0.0


class NoNanInf(Check):
    kind = "no_nan_inf"
    doc = "no infinite inputs, and every prediction and score is finite"
    params = ()

    def run(self, ctx: GateContext) -> Outcome:
        import numpy as np

        bad: dict[str, int] = {}
        for name in ctx.input_columns:
            column = ctx.features.column(name)
            if column.type.id in (10, 11, 12):  # half, float, double: NaN became null already; inf did not
                values = np.asarray(column.to_numpy(zero_copy_only=False), dtype=float)
                count = int(np.isinf(values).sum())
                if count:
                    bad[name] = count
        if bad:  # the model may refuse infinite inputs outright; the inputs alone settle it
            message = ", ".join(f"{k}: {v} non-finite" for k, v in bad.items())
            return Outcome(False, message, measured={"non_finite": sum(bad.values())}, evidence={"columns": bad})
        outputs: list[tuple[str, Any]] = [("predictions", ctx.predictions), ("scores", ctx.scores)]
        for label, values in outputs:
            if values is not None and np.asarray(values).dtype.kind == "f":
                count = int((~np.isfinite(np.asarray(values, dtype=float))).sum())
                if count:
                    bad[label] = count
        message = ", ".join(f"{k}: {v} non-finite" for k, v in bad.items()) or "inputs, predictions and scores finite"
        return Outcome(not bad, message, measured={"non_finite": sum(bad.values())}, evidence={"columns": bad})


class MinRows(Check):
    kind = "min_rows"
    doc = "the eval data has enough rows to judge the model"
    params = (Param("min", int, minimum=1, doc="the fewest eval rows accepted"),)

    def run(self, ctx: GateContext) -> Outcome:
        rows = ctx.dataset.rows
        return Outcome(
            rows >= self["min"],
            f"{rows:,} eval rows (at least {self['min']:,} needed)",
            measured={"rows": rows},
            threshold={"min": self["min"]},
        )


class ClassBalance(Check):
    kind = "class_balance"
    doc = "every class of the label has at least min_share of the eval rows, and there are two or more"
    params = (Param("min_share", float, required=False, default=0.01, minimum=0.0, maximum=0.5),)

    def run(self, ctx: GateContext) -> Outcome:
        import numpy as np

        if ctx.task != "classification":
            raise CheckFailedToRun("class_balance applies to classification; this task is regression")
        classes, counts = np.unique(ctx.y_true, return_counts=True)
        shares = counts / counts.sum()
        smallest = int(np.argmin(shares))
        passed = len(classes) >= 2 and shares[smallest] >= self["min_share"]
        return Outcome(
            passed,
            f"{len(classes)} class(es); the rarest, {classes[smallest].item()!r}, is {shares[smallest]:.2%} of rows",
            measured={"classes": len(classes), "min_share": float(shares[smallest])},
            threshold={"min_share": self["min_share"]},
            evidence={
                "table": [
                    {"class": str(c), "rows": int(n), "share": float(s)}
                    for c, n, s in zip(classes, counts, shares, strict=True)
                ]
            },
        )


class SplitOverlap(Check):
    kind = "split_overlap"
    doc = "eval rows (inputs and label) do not also appear in the training data"
    params = (Param("max_share", float, required=False, default=0.0, minimum=0.0, maximum=1.0),)

    def run(self, ctx: GateContext) -> Outcome:
        train = training_table(ctx)
        columns = [c for c in [*ctx.input_columns, ctx.label] if c in train.column_names]
        train_hashes = set(_row_hashes(train.select(columns)))
        eval_hashes = _row_hashes(ctx.table.select(columns))
        overlap = sum(1 for h in eval_hashes if h in train_hashes)
        share = overlap / len(eval_hashes) if eval_hashes else 0.0
        duplicates = len(eval_hashes) - len(set(eval_hashes))
        return Outcome(
            share <= self["max_share"],
            f"{overlap:,} eval rows ({share:.2%}) also in training; {duplicates:,} duplicated within the eval data",
            measured={"overlap_rows": overlap, "overlap_share": share, "eval_duplicates": duplicates},
            threshold={"max_share": self["max_share"]},
        )


def _row_hashes(table: Any) -> list[int]:
    import pandas as pd

    return [int(h) for h in pd.util.hash_pandas_object(table.to_pandas(), index=False).to_numpy()]
