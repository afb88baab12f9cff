"""The gate policy: ``[gate]`` in ``shipyard.toml`` (or a file given with ``--policy``), validated once.

```toml
[gate]
protected_aliases = ["champion"]   # aliases that need a passing verdict
data = "churn-eval"                # the evaluation data binding verdicts use: newest version, or "churn-eval@3"
primary_metric = "roc_auc"         # used by reports and comparisons that name no metric
label = "churned"                  # the eval data's label column (default: the one column the model does not take)
task = "classification"            # or "regression" (default: inferred from the label and the model)
allow_first = true                 # a first champion may be promoted when there is none to compare with
[[gate.checks]]
kind = "min_metric"                # the check's kind; every other key is one of its parameters
metric = "roc_auc"
threshold = 0.80
severity = "error"                 # or "warn": reported, never blocking
```

A policy has a digest over the parsed ``[gate]`` table (not over the file's bytes), so reformatting the
file keeps verdicts valid while changing any check, threshold or setting needs a new verdict. The policy
*in force* is kept in the metadata store (``shipyard gate policy apply``); the store computes the same
digest from the table it keeps.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.core.config import CONFIG_FILE, read_table, table_digest
from shipyard.core.errors import InvalidInput
from shipyard.core.policy_rules import RequiredData, required_data
from shipyard.core.refs import check_alias, parse_ref
from shipyard.gates.check import Check
from shipyard.gates.checks import get_check

TASKS = ("classification", "regression")
_GATE_KEYS = (
    "protected_aliases",
    "data",
    "primary_metric",
    "label",
    "task",
    "allow_first",
    "allow_unsafe",
    "checks",
)
_CHECK_META = ("kind", "severity", "name")
_DATA = re.compile(r"[^@\s]+(@[1-9][0-9]*)?")


@dataclass(frozen=True)
class CheckSpec:
    kind: str
    name: str
    severity: str
    values: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "severity": self.severity, **self.values}


@dataclass(frozen=True)
class Policy:
    checks: tuple[CheckSpec, ...] = ()
    protected_aliases: frozenset[str] = frozenset({"champion"})
    data: RequiredData | None = None
    primary_metric: str | None = None
    label: str | None = None
    task: str | None = None
    allow_first: bool = True
    allow_unsafe: bool = False
    source: str = field(default="(defaults)", compare=False)
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "protected_aliases": sorted(self.protected_aliases),
            "data": None if self.data is None else str(self.data),
            "primary_metric": self.primary_metric,
            "label": self.label,
            "task": self.task,
            "allow_first": self.allow_first,
            "allow_unsafe": self.allow_unsafe,
            "checks": [c.to_dict() for c in self.checks],
        }

    @property
    def digest(self) -> str:
        return table_digest(self.raw)

    @property
    def blocking(self) -> bool:
        """Whether any check can block (severity ``error``): a policy without one never passes."""
        return any(c.severity == "error" for c in self.checks)

    def build(self) -> list[Check]:
        return [get_check(s.kind)(s.values, severity=s.severity, name=s.name) for s in self.checks]


def load_policy(root: Path, file: Path | None = None) -> Policy:
    """The project's policy: ``file`` if given, else ``shipyard.toml`` in ``root``; defaults if neither has one."""
    path = file if file is not None else root / CONFIG_FILE
    if file is not None and not file.is_file():
        raise InvalidInput(f"No policy file at {file}. Pass the path of a TOML file with a [gate] table.")
    if not path.is_file():
        return Policy()
    return parse_policy(read_table(path, "gate"), str(path))


def parse_policy(table: Mapping[str, Any], source: str = "(policy)") -> Policy:
    for key in table:
        if key not in _GATE_KEYS:
            close = difflib.get_close_matches(key, _GATE_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InvalidInput(f"{source}: unknown key {key!r} in [gate]{hint}; valid keys: {', '.join(_GATE_KEYS)}.")
    protected = table.get("protected_aliases", ["champion"])
    if not isinstance(protected, list) or not all(isinstance(a, str) for a in protected):
        raise InvalidInput(f"{source}: [gate] protected_aliases must be a list of alias names; got {protected!r}.")
    task = _optional_str(table, "task", source)
    data = _data(table, source)
    if task is not None and task not in TASKS:
        raise InvalidInput(f"{source}: [gate] task must be one of {', '.join(TASKS)}; got {task!r}.")
    primary = _optional_str(table, "primary_metric", source)
    raw_checks = table.get("checks", [])
    if not isinstance(raw_checks, list) or not all(isinstance(c, dict) for c in raw_checks):
        raise InvalidInput(f"{source}: checks must be [[gate.checks]] tables; got {raw_checks!r}.")
    specs = [_check_spec(raw, index, source, task) for index, raw in enumerate(raw_checks, start=1)]
    names = [s.name for s in specs]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InvalidInput(
            f'{source}: two [[gate.checks]] share the name {duplicated[0]!r}; give one of them name = "…".'
        )
    return Policy(
        checks=tuple(specs),
        protected_aliases=frozenset(check_alias(a) for a in protected),
        data=data,
        primary_metric=primary,
        label=_optional_str(table, "label", source),
        task=task,
        allow_first=_bool(table, "allow_first", True, source),
        allow_unsafe=_bool(table, "allow_unsafe", False, source),
        source=source,
        raw=dict(table),
    )


def _check_spec(raw: Mapping[str, Any], index: int, source: str, task: str | None) -> CheckSpec:
    kind = raw.get("kind")
    where = f"{source}: [[gate.checks]] #{index}"
    if not isinstance(kind, str):
        raise InvalidInput(f'{where} needs kind = "…" (a check kind such as "min_metric").')
    where = f"{where} (kind = {kind!r})"
    cls = get_check(kind, f"{where}: ")
    severity = raw.get("severity", "error")
    if severity not in ("error", "warn"):
        raise InvalidInput(f'{where}: severity must be "error" or "warn"; got {severity!r}.')
    values = cls.validate({k: v for k, v in raw.items() if k not in _CHECK_META}, where)
    if isinstance(values.get("metric"), str):
        from shipyard.gates.metrics import check_metric

        try:  # an unknown name is a mistake whatever the task; a metric of the wrong task, once the task is known
            check_metric(values["metric"], task)
        except InvalidInput as exc:
            raise InvalidInput(f"{where}: {exc}") from None
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise InvalidInput(f"{where}: name must be a string; got {name!r}.")
    check = cls(values, severity=severity, name=name)
    return CheckSpec(kind=kind, name=check.name, severity=severity, values=values)


def _data(table: Mapping[str, Any], source: str) -> RequiredData | None:
    value = table.get("data")
    if value is None:
        return None
    problem = None
    if isinstance(value, str) and _DATA.fullmatch(value):
        try:
            parse_ref(value, "dataset")  # bounds the version as every reference is bounded
        except InvalidInput as exc:
            problem = str(exc)
    if not isinstance(value, str) or not _DATA.fullmatch(value) or problem:
        raise InvalidInput(
            f'{source}: [gate] data names the evaluation dataset, as "churn-eval" (its newest version when the '
            f'gate runs) or "churn-eval@3" (pinned); got {value!r}.' + (f" {problem}" if problem else "")
        )
    return required_data({"data": value})


def _optional_str(table: Mapping[str, Any], key: str, source: str) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{source}: [gate] {key} must be a string; got {value!r}.")
    return value


def _bool(table: Mapping[str, Any], key: str, default: bool, source: str) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise InvalidInput(f"{source}: [gate] {key} must be true or false; got {value!r}.")
    return value
