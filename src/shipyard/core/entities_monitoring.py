"""Records of the runtime loop that cross the backend seam: prediction log segments, monitor windows,
alerts and retraining loops."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PREDICTION_KINDS = ("predictions", "feedback")
"""The two kinds of prediction log segment."""
ALERT_STATES = ("open", "acknowledged", "resolved")
NOTIFY_STATES = ("none", "pending", "sent", "failed")
LOOP_STEPS = ("retraining", "gating", "canary")
"""The states a retraining loop passes through, in order."""
LOOP_ENDINGS = ("promoted", "rolled_back", "blocked", "failed")
"""The states a retraining loop ends in."""


@dataclass(frozen=True)
class PredictionSegment:
    """One Parquet blob of log rows; ``first_at``/``last_at`` bound its rows' times (ms since the epoch)."""

    id: int
    model: str
    kind: str
    blob_digest: str
    rows: int
    first_at: int
    last_at: int
    versions: tuple[int, ...]
    created_at: int


@dataclass(frozen=True)
class WindowRecord:
    """One evaluated window of a monitor: ``start_at <= at < end_at`` (ms), its status and results."""

    id: int
    project: str
    monitor: str
    model: str
    version: int | None
    start_at: int
    end_at: int
    rows: int
    status: str
    results: dict[str, Any]
    created_at: int


@dataclass(frozen=True)
class Alert:
    id: int
    project: str
    monitor: str
    rule: str
    model: str
    state: str
    message: str
    details: dict[str, Any]
    windows: int
    """How many evaluated windows have failed the rule while this alert was unresolved."""
    opened_at: int
    updated_at: int
    resolved_at: int | None
    acknowledged_by: str | None
    notify_state: str
    notify_attempts: int
    notify_error: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class LoopRecord:
    id: int
    project: str
    model: str
    monitor: str
    alert_id: int | None
    state: str
    message: str
    champion_version: int | None
    baseline_version: int
    """The newest version of the model when the loop started: the candidate is a version after it."""
    pipeline_run_id: str | None
    candidate_version: int | None
    canary_started_at: int | None
    started_at: int
    updated_at: int
    ended_at: int | None
    history: list[dict[str, Any]]

    @property
    def finished(self) -> bool:
        return self.ended_at is not None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)
