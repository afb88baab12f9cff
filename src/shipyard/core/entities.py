"""Plain records passed between layers. No behaviour beyond small conveniences."""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import pandas as pd

# Records split into modules of their own by domain, re-exported so that one import path serves all.
from shipyard.core.entities_accounts import ApiToken as ApiToken
from shipyard.core.entities_accounts import Membership as Membership
from shipyard.core.entities_accounts import Principal as Principal
from shipyard.core.entities_accounts import Role as Role
from shipyard.core.entities_accounts import User as User
from shipyard.core.entities_gate import Decision as Decision
from shipyard.core.entities_gate import Problem as Problem
from shipyard.core.entities_gate import Verification as Verification
from shipyard.core.entities_monitoring import Alert as Alert
from shipyard.core.entities_monitoring import LoopRecord as LoopRecord
from shipyard.core.entities_monitoring import PredictionSegment as PredictionSegment
from shipyard.core.entities_monitoring import WindowRecord as WindowRecord
from shipyard.core.entities_storage import GcReport as GcReport


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

    def __repr__(self) -> str:
        from shipyard.core._display import run_line

        return run_line(self)

    def _repr_html_(self) -> str:
        from shipyard.core._display import run_html

        return run_html(self)

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

    def __repr__(self) -> str:
        from shipyard.core._display import page_line

        return page_line(self, self.next_page_token)

    def _repr_html_(self) -> str:
        from shipyard.core._display import page_html

        return page_html(self, self.next_page_token)

    def to_pandas(self) -> pd.DataFrame:
        """The runs as a DataFrame: run_id, name, status, start_time, then params.X and metrics.X columns."""
        from shipyard.core._display import page_frame

        return page_frame(self)


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    """An immutable table snapshot: canonical Parquet in the artifact store, with its schema and profile.

    ``digest`` is over the table's canonical content (the same rows, columns and types give the same
    digest whatever their source); ``blob_digest`` names the Parquet file in the artifact store.
    ``schema`` and ``profile`` are plain JSON-ready dicts (see ``shipyard.data.profile`` for typed views).
    """

    project: str
    name: str
    version: int
    digest: str
    blob_digest: str
    rows: int
    size_bytes: int
    schema: Mapping[str, Any]
    profile: Mapping[str, Any]
    description: str
    created_at: int
    created_by: str
    id: int = field(default=0, repr=False, compare=False)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def columns(self) -> list[str]:
        return [column["name"] for column in self.schema.get("columns", [])]

    def __repr__(self) -> str:
        from shipyard.core._display import dataset_line

        return dataset_line(self.to_dict())

    def _repr_html_(self) -> str:
        from shipyard.core._display import dataset_html

        return dataset_html(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "blob_digest": self.blob_digest,
            "rows": self.rows,
            "size_bytes": self.size_bytes,
            "schema": dict(self.schema),
            "profile": dict(self.profile),
            "description": self.description,
            "created_at": self.created_at,
            "created_by": self.created_by,
        }


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """A registered model's numbered version: its package in the artifact store and where it came from."""

    project: str
    name: str
    version: int
    flavor: str
    artifact_digest: str
    unsafe_format: bool
    signature: Mapping[str, Any]
    package: Mapping[str, Any]
    run_id: str | None
    description: str
    status: str
    created_at: int
    created_by: str
    aliases: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    datasets: tuple[tuple[str, str], ...] = ()
    """(role, "dataset@version") pairs: the data the version was trained on."""
    parents: tuple[str, ...] = ()
    """"model@version" references of the versions this one was derived from."""
    gate_override: str | None = None
    """The reason an admin gave for overriding the gate on this version, if one ever did; kept for good."""
    id: int = field(default=0, repr=False, compare=False)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def __repr__(self) -> str:
        from shipyard.core._display import model_line

        return model_line(self.to_dict())

    def _repr_html_(self) -> str:
        from shipyard.core._display import model_html

        return model_html(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "name": self.name,
            "version": self.version,
            "flavor": self.flavor,
            "artifact_digest": self.artifact_digest,
            "unsafe_format": self.unsafe_format,
            "signature": dict(self.signature),
            "run_id": self.run_id,
            "description": self.description,
            "status": self.status,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "aliases": list(self.aliases),
            "tags": dict(self.tags),
            "datasets": [{"role": role, "dataset": ref} for role, ref in self.datasets],
            "parents": list(self.parents),
            "environment": dict(self.package.get("environment", {})),
            "gate_override": self.gate_override,
        }


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    project: str
    name: str
    description: str
    created_at: int
    latest_version: int | None
    aliases: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "name": self.name,
            "description": self.description,
            "created_at": self.created_at,
            "latest_version": self.latest_version,
            "aliases": dict(self.aliases),
        }


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """Who changed an alias, deleted or archived something, or overrode a gate; when, and the details."""

    id: int
    at: int
    actor: str
    action: str
    project: str | None
    subject: str
    details: Mapping[str, Any]
    seq: int | None = None
    """The event's place in the store's hash chain (gap-free from 1)."""
    hash: str | None = None
    """sha256 over the previous event's hash and this event's content: see ``shipyard audit verify``."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "project": self.project,
            "subject": self.subject,
            "details": dict(self.details),
            "hash": self.hash,
        }


@dataclass(frozen=True)
class GatePolicyVersion:
    """A version of a project's gate policy kept in the store; the newest one is the policy in force."""

    project: str
    version: int
    digest: str
    table: Mapping[str, Any]
    """The parsed ``[gate]`` table."""
    source: str
    reason: str
    implicit: bool
    applied_at: int
    applied_by: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "version": self.version,
            "digest": self.digest,
            "table": dict(self.table),
            "source": self.source,
            "reason": self.reason,
            "implicit": self.implicit,
            "applied_at": self.applied_at,
            "applied_by": self.applied_by,
        }


CANARY_OUTCOMES = ("promoted", "rolled_back", "stopped")
"""How a canary ends; while it lasts its state is ``running``."""


@dataclass(frozen=True, slots=True)
class Canary:
    """A share of a model's live traffic sent to one of its versions, on every server of the model.

    ``state`` is ``running`` until the canary ends as ``promoted``, ``rolled_back`` or ``stopped``;
    ending one moves no alias (promoting is ``Models.promote``). ``reason`` says why it started,
    ``end_reason`` why it ended.
    """

    id: int
    project: str
    model: str
    version: int
    share: float
    state: str
    reason: str
    started_at: int
    started_by: str
    ended_at: int | None = None
    ended_by: str | None = None
    end_reason: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"

    @property
    def running(self) -> bool:
        return self.state == "running"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "project": self.project,
            "model": self.model,
            "version": self.version,
            "ref": self.ref,
            "share": self.share,
            "state": self.state,
            "reason": self.reason,
            "started_at": self.started_at,
            "started_by": self.started_by,
            "ended_at": self.ended_at,
            "ended_by": self.ended_by,
            "end_reason": self.end_reason,
        }


class StepStatus(enum.StrEnum):
    """Where one node of a pipeline run is. ``cached`` reused earlier outputs; ``skipped`` had a failed input."""

    PENDING = "pending"
    RUNNING = "running"
    FINISHED = "finished"
    CACHED = "cached"
    FAILED = "failed"
    CRASHED = "crashed"
    SKIPPED = "skipped"

    @property
    def succeeded(self) -> bool:
        return self in (StepStatus.FINISHED, StepStatus.CACHED)


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One node of a pipeline run: its step, the nodes it reads from, its run, cache key and outcome.

    ``outputs`` maps each output name to how it was stored (``{"kind": "dataset", "ref": …}`` and so on);
    ``error`` holds the traceback of a failed step.
    """

    pipeline_run_id: str
    node: str
    position: int
    step: str
    upstream: tuple[str, ...]
    status: StepStatus
    run_id: str | None
    cache_key: str | None
    outputs: Mapping[str, Any] | None
    error: str | None
    attempts: int
    started_at: int | None
    ended_at: int | None

    @property
    def duration_ms(self) -> int | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "step": self.step,
            "upstream": list(self.upstream),
            "status": str(self.status),
            "run_id": self.run_id,
            "cache_key": self.cache_key,
            "outputs": None if self.outputs is None else dict(self.outputs),
            "error": self.error,
            "attempts": self.attempts,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_ms": self.duration_ms,
        }


@dataclass(frozen=True, slots=True)
class Schedule:
    """A cron schedule of a pipeline: what to run (``path.py:pipeline``), when, with which parameters."""

    id: int
    project: str
    name: str
    target: str
    cron: str
    params: Mapping[str, Any]
    options: Mapping[str, Any]
    enabled: bool
    next_run_at: int
    last_run_at: int | None
    last_run_id: str | None
    last_status: str | None
    lease_owner: str | None
    lease_until: int | None
    created_at: int
    created_by: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "project": self.project,
            "name": self.name,
            "target": self.target,
            "cron": self.cron,
            "params": dict(self.params),
            "options": dict(self.options),
            "enabled": self.enabled,
            "next_run_at": self.next_run_at,
            "last_run_at": self.last_run_at,
            "last_run_id": self.last_run_id,
            "last_status": self.last_status,
            "running": self.lease_owner is not None,
            "created_at": self.created_at,
            "created_by": self.created_by,
        }
