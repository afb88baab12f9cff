"""What a check is: declared parameters, validated once, and a ``run`` that measures and decides.

Every check records what it measured, the threshold it compared against, and why it decided as it did.
A check that cannot run (a missing column, a model that fails to predict) reports ``error``, which
fails the gate: nothing passes by default.
"""

from __future__ import annotations

import difflib
import enum
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from shipyard.core.errors import InvalidInput

if TYPE_CHECKING:
    from shipyard.gates.context import GateContext


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"  # a failed check of severity "warn": reported, not blocking
    ERROR = "error"  # the check could not run; blocks like a failure


@dataclass(frozen=True)
class Param:
    """One parameter a check kind takes, with its constraints (validated when the policy is loaded)."""

    name: str
    type: type | tuple[type, ...]
    required: bool = True
    default: Any = None
    choices: Sequence[Any] | None = None
    minimum: float | None = None
    maximum: float | None = None
    doc: str = ""

    def check(self, value: Any, where: str) -> Any:
        types = self.type if isinstance(self.type, tuple) else (self.type,)
        if float in types and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            expected = " or ".join(_type_name(t) for t in types)
            raise InvalidInput(f"{where}: {self.name} must be {expected}; got {value!r}.")
        if self.choices is not None:
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if v not in self.choices]
            if bad:
                close = difflib.get_close_matches(str(bad[0]), [str(c) for c in self.choices], n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise InvalidInput(
                    f"{where}: {self.name} = {bad[0]!r} is not allowed{hint}; choose from "
                    f"{', '.join(map(str, self.choices))}."
                )
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidInput(f"{where}: {self.name} must be a finite number; got {value!r}.")
        if self.minimum is not None and isinstance(value, int | float) and value < self.minimum:
            raise InvalidInput(f"{where}: {self.name} must be at least {self.minimum}; got {value!r}.")
        if self.maximum is not None and isinstance(value, int | float) and value > self.maximum:
            raise InvalidInput(f"{where}: {self.name} must be at most {self.maximum}; got {value!r}.")
        return value


def validate_params(raw: Mapping[str, Any], params: Sequence[Param], where: str, kind: str) -> dict[str, Any]:
    """``raw`` (a TOML table) checked against ``params``: unknown keys (with a "did you mean"), missing required
    ones, types, ranges and choices; the values, with defaults filled in. ``where`` starts each message."""
    known = {p.name: p for p in params}
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            valid = ", ".join(known) or "none"
            raise InvalidInput(f"{where}: unknown key {key!r}{hint}; {kind} takes: {valid}.")
    values = {}
    for param in params:
        if param.name in raw:
            values[param.name] = param.check(raw[param.name], where)
        elif param.required:
            raise InvalidInput(f"{where}: {kind} needs {param.name!r}" + (f" ({param.doc})." if param.doc else "."))
        else:
            values[param.name] = param.default
    return values


def _type_name(t: type) -> str:
    return {float: "a number", int: "an integer", str: "a string", bool: "true or false", list: "a list"}.get(
        t, t.__name__
    )


@dataclass(frozen=True)
class CheckResult:
    name: str
    kind: str
    severity: str
    status: Status
    measured: Mapping[str, Any] = field(default_factory=dict)
    threshold: Mapping[str, Any] = field(default_factory=dict)
    message: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    duration_ms: float = 0.0

    @property
    def blocks(self) -> bool:
        return self.status in (Status.FAIL, Status.ERROR)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "severity": self.severity,
            "status": self.status.value,
            "measured": dict(self.measured),
            "threshold": dict(self.threshold),
            "message": self.message,
            "evidence": dict(self.evidence),
            "duration_ms": round(self.duration_ms, 3),
        }

    @classmethod
    def from_dict(cls, found: Mapping[str, Any]) -> CheckResult:
        """The result ``to_dict`` gave (a verdict read back, or answered by a server)."""
        return cls(
            name=str(found["name"]),
            kind=str(found.get("kind", found["name"])),
            severity=str(found.get("severity", "error")),
            status=Status(found["status"]),
            measured=dict(found.get("measured") or {}),
            threshold=dict(found.get("threshold") or {}),
            message=str(found.get("message", "")),
            evidence=dict(found.get("evidence") or {}),
            duration_ms=float(found.get("duration_ms") or 0.0),
        )


@dataclass(frozen=True)
class Outcome:
    """What a check's ``run`` returns; the runner adds name, kind, severity and timing."""

    passed: bool
    message: str
    measured: Mapping[str, Any] = field(default_factory=dict)
    threshold: Mapping[str, Any] = field(default_factory=dict)
    evidence: Mapping[str, Any] = field(default_factory=dict)


class CheckFailedToRun(Exception):
    """Raised inside a check when it cannot measure: the runner records ``error`` with this message."""


class Check(ABC):
    """Base of every check kind. Subclasses declare ``kind``, ``params`` and implement ``run``."""

    kind: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()
    doc: ClassVar[str] = ""

    def __init__(self, values: Mapping[str, Any], *, severity: str = "error", name: str | None = None) -> None:
        self.values = dict(values)
        self.severity = severity
        self.name = name or self.default_name()

    def default_name(self) -> str:
        metric = self.values.get("metric")
        return f"{self.kind}:{metric}" if metric else self.kind

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @abstractmethod
    def run(self, ctx: GateContext) -> Outcome:
        """Measure, compare with the thresholds, and say why; raise ``CheckFailedToRun`` if it cannot measure."""

    @classmethod
    def validate(cls, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
        """Check raw policy keys against ``params``: unknown keys, missing ones, types, ranges, choices."""
        return validate_params(raw, cls.params, where, cls.kind)
