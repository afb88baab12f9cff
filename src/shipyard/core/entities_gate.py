"""Records of the gate and the audit log that cross the backend seam: the decision and a chain check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Decision:
    """The gate's answer for one version under the policy in force."""

    allowed: bool
    reason: str
    """Why not (or, when allowed, which verdict allows it)."""
    verdict_id: str | None = None
    policy_version: int | None = None


@dataclass(frozen=True)
class Problem:
    kind: str
    """``changed``, ``missing``, ``unchained``, ``head``, ``alias``, ``verdict`` or ``policy``."""
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class Verification:
    """The outcome of checking the audit chain and replaying it against the state it describes."""

    events: int
    head_seq: int
    head_hash: str
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "problems": [p.to_dict() for p in self.problems],
        }
