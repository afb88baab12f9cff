"""A verdict: the outcome of a policy on one model version and one evaluation dataset version.

It binds the model's package digest, the policy digest, the eval data's digest and Shipyard's version;
changing any of them needs a new verdict. It keeps every check's measured values, thresholds and
evidence, and the HTML report lives in the artifact store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from shipyard.gates.check import CheckResult, Status


@dataclass(frozen=True)
class Verdict:
    id: str
    passed: bool
    model: Mapping[str, Any]
    data: Mapping[str, Any]
    policy: Mapping[str, Any]
    shipyard_version: str
    created_at: int
    checks: Sequence[CheckResult]
    champion: Mapping[str, Any] | None = None
    report_digest: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    binding: bool = False
    """Made under the policy in force on the evaluation data it requires: only a binding verdict can promote."""
    preview_reason: str | None = None
    """Why the verdict is a preview (``binding`` false), in words."""
    notes: Sequence[str] = ()
    """Things the user should know, such as a local ``shipyard.toml`` that differs from the policy in force."""

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.blocks]

    def __repr__(self) -> str:
        from shipyard.gates.display import verdict_line

        return verdict_line(self.to_dict())

    def _repr_html_(self) -> str:
        from shipyard.gates.display import verdict_html

        return verdict_html(self.to_dict())

    def summary(self) -> dict[str, int]:
        count = {status: sum(1 for c in self.checks if c.status is status) for status in Status}
        return {
            "passed": count[Status.PASS],
            "failed": count[Status.FAIL],
            "warned": count[Status.WARN],
            "errors": count[Status.ERROR],
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "passed": self.passed,
            "created_at": self.created_at,
            "model": dict(self.model),
            "data": dict(self.data),
            "policy": dict(self.policy),
            "shipyard_version": self.shipyard_version,
            "champion": None if self.champion is None else dict(self.champion),
            "checks": [c.to_dict() for c in self.checks],
            "summary": self.summary(),
            "report_digest": self.report_digest,
            "binding": self.binding,
            "preview_reason": self.preview_reason,
            "notes": list(self.notes),
            **dict(self.extra),
        }

    @classmethod
    def from_dict(cls, found: Mapping[str, Any]) -> Verdict:
        """The verdict ``to_dict`` gave: keys it does not name were ``extra`` (``summary`` is recomputed)."""
        named = {f.name for f in fields(cls)} | {"summary"}
        champion = found.get("champion")
        return cls(
            id=str(found["id"]),
            passed=bool(found["passed"]),
            model=dict(found["model"]),
            data=dict(found["data"]),
            policy=dict(found["policy"]),
            shipyard_version=str(found["shipyard_version"]),
            created_at=int(found["created_at"]),
            checks=tuple(CheckResult.from_dict(c) for c in found.get("checks", ())),
            champion=None if champion is None else dict(champion),
            report_digest=found.get("report_digest"),
            extra={k: v for k, v in found.items() if k not in named},
            binding=bool(found.get("binding", False)),
            preview_reason=found.get("preview_reason"),
            notes=tuple(found.get("notes", ())),
        )
