"""What the store itself must understand of a gate policy (``[gate]`` as parsed TOML), with no check code.

The gates layer validates a policy and runs its checks; the metadata store, which decides who may take a
protected alias, reads the few things it needs straight from the policy in force that it keeps:

- which aliases are protected (``protected_aliases``, default ``["champion"]``);
- which evaluation data a binding verdict must use (``data = "churn-eval"`` or a pinned ``"churn-eval@3"``);
- whether any check blocks at all (a policy whose checks are all ``warn`` never passes);
- how a new policy differs from the one in force, and which of those changes weaken the gate (they
  need a reason). The direction in which each built-in check's parameters tighten is declared below;
  a change the table does not know (a plug-in's parameter, a changed metric) counts as weakening.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_PROTECTED = ("champion",)

# +1: a higher value is stricter; -1: a lower one is; for booleans, the stricter value.
_STRICTER: dict[str, dict[str, int | bool]] = {
    "min_metric": {"threshold": +1},
    "max_metric": {"threshold": -1},
    "no_regression": {"max_drop": -1, "confidence": +1, "resamples": +1},
    "beats_baseline": {"confidence": +1, "resamples": +1},
    "mcnemar": {"alpha": +1},
    "slice_metric": {"min": +1, "min_rows": -1, "max_drop": -1},
    "fairness_gap": {"max_gap": -1, "min_rows": -1},
    "leakage_probe": {"max_auc": -1, "max_abs_r": -1},
    "schema": {"allow_new_categories": False},
    "completeness": {"max_increase": -1},
    "min_rows": {"min": +1},
    "class_balance": {"min_share": +1},
    "split_overlap": {"max_share": -1},
    "metric_policy": {"min_share": +1},
    "determinism": {"rows": +1},
    "determinism_process": {"rows": +1},
    "invariance": {"max_changed": -1, "atol": -1},
    "latency": {"p50_ms": -1, "p99_ms": -1, "batch_ms": -1, "requests": +1, "batch_rows": +1},
    "memory": {"max_mb": -1},
    "loads_clean": {"max_seconds": -1},
    "lineage_complete": {"require_clean_tree": True},
}
_TOP_STRICTER = {"allow_first": False, "allow_unsafe": False}
_TOP_DEFAULTS = {"allow_first": True, "allow_unsafe": False}


@dataclass(frozen=True)
class RequiredData:
    """The evaluation data a binding verdict must use: the newest version of ``name``, or ``version``."""

    name: str
    version: int | None = None

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}@{self.version}"


@dataclass(frozen=True)
class PolicyChange:
    text: str
    weakens: bool


def canonical(table: Mapping[str, Any]) -> str:
    """The policy's canonical JSON text: what its digest is computed over and what the store keeps."""
    return json.dumps(table, sort_keys=True, separators=(",", ":"), default=str)


def protected_aliases(table: Mapping[str, Any]) -> frozenset[str]:
    value = table.get("protected_aliases", list(DEFAULT_PROTECTED))
    return frozenset(str(a) for a in value) if isinstance(value, list) else frozenset(DEFAULT_PROTECTED)


def required_data(table: Mapping[str, Any]) -> RequiredData | None:
    """``[gate] data``: ``None`` when the policy names no evaluation data."""
    value = table.get("data")
    if not isinstance(value, str) or not value:
        return None
    name, _, version = value.partition("@")
    return RequiredData(name, int(version)) if version.isdigit() else RequiredData(name)


def blocking_checks(table: Mapping[str, Any]) -> list[str]:
    """The names (or kinds) of the checks that can block: severity ``error``, the default."""
    return [key for key, check in _keyed(table).items() if check.get("severity", "error") == "error"]


def changes(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[PolicyChange]:
    """Every difference from ``old`` to ``new``, each marked when it weakens the gate."""
    if old is None:
        return [PolicyChange("the first policy of the project", weakens=False)]
    found: list[PolicyChange] = []
    before, after = protected_aliases(old), protected_aliases(new)
    for alias in sorted(before - after):
        found.append(PolicyChange(f"alias {alias!r} is no longer protected", weakens=True))
    for alias in sorted(after - before):
        found.append(PolicyChange(f"alias {alias!r} is now protected", weakens=False))
    old_data, new_data = required_data(old), required_data(new)
    if old_data != new_data:
        weakens = old_data is not None
        found.append(PolicyChange(f"evaluation data {old_data or '(any)'} → {new_data or '(any)'}", weakens=weakens))
    for key in sorted(set(old) | set(new)):
        before_value, after_value = old.get(key, _TOP_DEFAULTS.get(key)), new.get(key, _TOP_DEFAULTS.get(key))
        if key in ("protected_aliases", "data", "checks") or before_value == after_value:
            continue
        found.append(_value_change(f"[gate] {key}", before_value, after_value, _TOP_STRICTER.get(key)))
    old_checks, new_checks = _keyed(old), _keyed(new)
    for key in old_checks.keys() - new_checks.keys():
        found.append(PolicyChange(f"check {key} removed", weakens=True))
    for key in new_checks.keys() - old_checks.keys():
        found.append(PolicyChange(f"check {key} added", weakens=False))
    for key in sorted(old_checks.keys() & new_checks.keys()):
        found.extend(_check_changes(key, old_checks[key], new_checks[key]))
    return sorted(found, key=lambda c: (not c.weakens, c.text))


def _check_changes(key: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[PolicyChange]:
    found = []
    old_severity, new_severity = old.get("severity", "error"), new.get("severity", "error")
    if old_severity != new_severity:
        found.append(
            PolicyChange(f"check {key}: severity {old_severity} → {new_severity}", weakens=new_severity != "error")
        )
    directions = _STRICTER.get(str(new.get("kind")), {})
    for param in sorted((set(old) | set(new)) - {"severity", "name", "kind"}):
        if old.get(param) != new.get(param):
            found.append(_value_change(f"check {key}: {param}", old.get(param), new.get(param), directions.get(param)))
    return found


def _value_change(what: str, old: Any, new: Any, stricter: int | bool | None) -> PolicyChange:
    text = f"{what} {old!r} → {new!r}"
    if isinstance(stricter, bool):
        return PolicyChange(text, weakens=new != stricter)
    if stricter in (1, -1) and _number(old) and _number(new):
        return PolicyChange(text, weakens=(new - old) * stricter < 0)
    return PolicyChange(text, weakens=True)  # a change whose direction is unknown needs a reason


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _checks(table: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    checks = table.get("checks", [])
    return [c for c in checks if isinstance(c, Mapping)] if isinstance(checks, list) else []


def _keyed(table: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    keyed: dict[str, Mapping[str, Any]] = {}
    for index, check in enumerate(_checks(table)):
        key = _check_key(check, index)
        keyed[key if key not in keyed else f"{key}#{index + 1}"] = check
    return keyed


def _check_key(check: Mapping[str, Any], index: int) -> str:
    name = check.get("name")
    if isinstance(name, str) and name:
        return name
    kind = str(check.get("kind", f"#{index + 1}"))
    subject = next((str(check[k]) for k in ("metric", "by", "attribute", "column", "key") if k in check), None)
    return f"{kind}[{subject}]" if subject else kind
