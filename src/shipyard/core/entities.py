"""Plain records passed between layers. No behaviour beyond small conveniences."""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CRASHED = "crashed"

    @property
    def is_terminal(self) -> bool:
        return self is not RunStatus.RUNNING


class Metric(NamedTuple):
    """One point of a metric's history. ``timestamp`` is milliseconds since the epoch.

    A named tuple rather than a dataclass: histories run to millions of points, and building a
    tuple costs a fraction of a frozen dataclass.
    """

    key: str
    value: float
    step: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class RunArtifact:
    """A file a run logged: its path inside the run, and the blob it refers to."""

    path: str
    digest: str
    size: int


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What the store knows about one run: its attributes and, for convenience, its latest values.

    ``metrics`` holds the latest value per key (highest step, then latest timestamp); the full
    history comes from ``get_metric_history``.
    """

    id: str
    project: str
    name: str
    status: RunStatus
    start_time: int
    end_time: int | None
    parent_id: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    environment_json: str = field(default="{}", repr=False)
    deleted: bool = False

    @property
    def environment(self) -> dict[str, Any]:
        """What the run ran on: git, Python, platform, package versions.

        Kept as JSON and decoded on access: search results rarely look at it, and decoding it for
        every row would cost more than the rest of a search.
        """
        decoded: dict[str, Any] = json.loads(self.environment_json)
        return decoded

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; non-finite metric values become the strings 'NaN', 'Infinity', '-Infinity'."""
        return {
            "id": self.id,
            "project": self.project,
            "name": self.name,
            "status": self.status.value,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "parent_id": self.parent_id,
            "params": dict(self.params),
            "metrics": {k: json_number(v) for k, v in self.metrics.items()},
            "tags": dict(self.tags),
            "environment": self.environment,
            "deleted": self.deleted,
        }


def json_number(value: float) -> float | str:
    """JSON has no NaN or infinity; spell them as JavaScript does so nothing is lost."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


class RunPage(list[RunRecord]):
    """A page of search results: a list, plus the token that fetches the next page (None on the last)."""

    def __init__(self, runs: list[RunRecord], next_page_token: str | None) -> None:
        super().__init__(runs)
        self.next_page_token = next_page_token
