"""Rules: what a monitor judges on each window, and when a failing rule becomes an alert.

Each rule gives a window one of three outcomes: ``fail``, ``pass``, or ``insufficient_data`` (too few rows,
or for a live metric too few labels) — never a verdict on data too thin to judge. Rules aggregate so that one
noisy feature or one odd window does not raise an alert storm: ``feature_drift`` fails only when at least
``min_features`` columns drift, and any rule alerts only after ``for_windows`` evaluated windows in a row fail
(windows with insufficient data neither count nor break the streak).

- ``feature_drift`` fails when at least ``min_features`` input columns drift (each column's method is
  ``method``, or chosen by its type and the window's size);
- ``prediction_drift`` when the predictions drift from the model's own predictions on its training data;
- ``data_quality`` when at least ``min_features`` columns have more missing values than ``max_missing_share``,
  or more values outside the training data's range or categories than ``max_out_of_domain_share``;
- ``live_metric`` when the metric, on the window's requests that have feedback, is below ``min`` (above ``max``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import InvalidInput

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

    from shipyard.monitoring.config import RuleSpec
    from shipyard.monitoring.reference import Reference
    from shipyard.monitoring.statistics import ColumnDrift, DriftReport

FAIL, PASS, INSUFFICIENT = "fail", "pass", "insufficient_data"
_P_VALUE_METHODS = ("ks", "chi2")


@dataclass(frozen=True)
class RuleResult:
    rule: str
    kind: str
    status: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "kind": self.kind, "status": self.status, "message": self.message, **self.details}


@dataclass
class WindowInputs:
    """What the rules of one window read; each piece is computed once, when a rule first needs it."""

    table: pa.Table
    inputs: Reference
    input_columns: Sequence[str]
    min_rows: int
    predictions: Callable[[], Reference]
    feedback: Callable[[], pa.Table]
    task: str | None = None
    drift_reports: dict[str, DriftReport] = field(default_factory=dict)
    """Every drift report computed for the window, by rule name (kept for the window's stored results)."""


def evaluate(rule: RuleSpec, window: WindowInputs) -> RuleResult:
    """The outcome of ``rule`` on one window.

    A window with fewer than ``min_rows`` rows is insufficient data for every rule. A window the rule cannot
    be computed on (its rows lack the model's input columns, say, after a change of inputs) fails, with the
    reason, so that the alert says monitoring needs attention instead of the evaluation stopping.
    """
    if window.table.num_rows < window.min_rows:
        return _insufficient(rule, window.table.num_rows, window.min_rows)
    try:
        return _RULES[rule.kind](rule, window)
    except InvalidInput as exc:
        return RuleResult(rule.name, rule.kind, FAIL, f"cannot be evaluated: {exc}", {"error": str(exc)})


def streak_fires(rule: RuleSpec, history: Sequence[str], current: str) -> bool:
    """True when ``current`` fails and so did the ``for_windows - 1`` judged windows before it (oldest first)."""
    if current != FAIL:
        return False
    judged = [status for status in history if status != INSUFFICIENT]
    needed = rule.for_windows - 1
    return needed == 0 or (len(judged) >= needed and all(status == FAIL for status in judged[-needed:]))


# --- the rules --------------------------------------------------------------------------------------------


def _feature_drift(rule: RuleSpec, window: WindowInputs) -> RuleResult:
    columns = _columns(rule, window)
    report = _drift(rule, window.inputs, window.table, columns, window.min_rows)
    window.drift_reports[rule.name] = report
    if report.status == INSUFFICIENT:
        return _insufficient(rule, report.rows, window.min_rows)
    drifted = [report.columns[name] for name in report.drifted]
    needed = int(rule.values["min_features"])
    status = FAIL if len(drifted) >= needed else PASS
    listed = ", ".join(_describe(c) for c in drifted[:5]) + (" …" if len(drifted) > 5 else "")
    message = f"{len(drifted)} of {len(report.columns)} features drifted" + (f": {listed}" if drifted else "")
    if status == FAIL and needed > 1:
        message += f" (the rule allows fewer than {needed})"
    return RuleResult(rule.name, rule.kind, status, message, {"drifted": report.drifted, "rows": report.rows})


def _prediction_drift(rule: RuleSpec, window: WindowInputs) -> RuleResult:
    report = _drift(rule, window.predictions(), window.table, ["prediction"], window.min_rows)
    window.drift_reports[rule.name] = report
    if report.status == INSUFFICIENT:
        return _insufficient(rule, report.rows, window.min_rows)
    column = report.columns["prediction"]
    status = FAIL if column.status == "drift" else PASS
    verb = "drifted" if status == FAIL else "did not drift"
    return RuleResult(
        rule.name, rule.kind, status, f"the predictions {verb}: {_describe(column)}", {"rows": report.rows}
    )


def _data_quality(rule: RuleSpec, window: WindowInputs) -> RuleResult:
    from shipyard.monitoring.statistics import compute_drift

    report = compute_drift(window.inputs, window.table, columns=_columns(rule, window), min_rows=window.min_rows)
    window.drift_reports[rule.name] = report
    if report.rows < window.min_rows:
        return _insufficient(rule, report.rows, window.min_rows)
    missing, outside = rule.values["max_missing_share"], rule.values["max_out_of_domain_share"]
    problems = []
    for column in report.columns.values():
        if missing is not None and column.missing_share > missing:
            problems.append(f"{column.column}: {column.missing_share:.1%} missing (max {missing:.1%})")
        elif outside is not None and column.out_of_domain_share > outside:
            problems.append(f"{column.column}: {column.out_of_domain_share:.1%} out of domain (max {outside:.1%})")
    status = FAIL if len(problems) >= int(rule.values["min_features"]) else PASS
    message = "; ".join(problems[:5]) if problems else f"{len(report.columns)} columns within the quality limits"
    return RuleResult(rule.name, rule.kind, status, message, {"problems": problems, "rows": report.rows})


def _live_metric(rule: RuleSpec, window: WindowInputs) -> RuleResult:
    from shipyard.monitoring.live import live_metric

    metric = rule.values["metric"]
    result = live_metric(
        metric, window.table, window.feedback(), min_labels=int(rule.values["min_labels"]), task=window.task
    )
    details = {"labels": result.labels, "unknown_feedback": result.unknown_feedback, "value": result.value}
    if result.status == INSUFFICIENT or result.value is None:
        message = f"{result.labels} labelled requests; {rule.values['min_labels']} needed to judge {metric}"
        return RuleResult(rule.name, rule.kind, INSUFFICIENT, message, details)
    low, high = rule.values["min"], rule.values["max"]
    failed = (low is not None and result.value < low) or (high is not None and result.value > high)
    bound = f"min {low}" if low is not None else f"max {high}"
    message = f"{metric} = {result.value:.4f} on {result.labels} labels ({bound})"
    return RuleResult(rule.name, rule.kind, FAIL if failed else PASS, message, details)


_RULES: dict[str, Callable[[RuleSpec, WindowInputs], RuleResult]] = {
    "feature_drift": _feature_drift,
    "prediction_drift": _prediction_drift,
    "data_quality": _data_quality,
    "live_metric": _live_metric,
}


# --- helpers --------------------------------------------------------------------------------------------------


def _columns(rule: RuleSpec, window: WindowInputs) -> list[str]:
    wanted = rule.values.get("columns") or list(window.input_columns)
    unknown = [c for c in wanted if c not in window.inputs.columns]
    if unknown:
        raise InvalidInput(
            f"Rule {rule.name!r} names columns the model's training data does not have: {', '.join(unknown)}. "
            f"Its columns: {', '.join(window.inputs.columns)}."
        )
    return list(wanted)


def _drift(rule: RuleSpec, reference: Reference, table: pa.Table, columns: list[str], min_rows: int) -> DriftReport:
    """compute_drift with the rule's method; ``threshold`` sets the distance methods' thresholds and ``p_value``
    the tests' significance level, whichever method each column gets."""
    from shipyard.monitoring.statistics import compute_drift, default_method

    method, threshold, p_value = rule.values["method"], rule.values["threshold"], rule.values["p_value"]
    methods, thresholds = {}, {}
    for name in columns:
        chosen = method if method != "auto" else default_method(reference.columns[name], table.num_rows)[0]
        methods[name] = chosen
        if chosen in _P_VALUE_METHODS:
            thresholds[name] = p_value
        elif threshold is not None:
            thresholds[name] = threshold
    return compute_drift(
        reference, table, columns=columns, methods=methods, thresholds=thresholds or None, min_rows=min_rows
    )


def _describe(column: ColumnDrift) -> str:
    if column.p_value is not None:
        return f"{column.column} ({column.method} p = {column.p_value:.2g}, significance {column.threshold:g})"
    value = "n/a" if column.value is None else f"{column.value:.3f}"
    return f"{column.column} ({column.method} {value}, threshold {column.threshold:g})"


def _insufficient(rule: RuleSpec, rows: int, needed: int) -> RuleResult:
    return RuleResult(rule.name, rule.kind, INSUFFICIENT, f"{rows} rows in the window; {needed} needed to judge")
