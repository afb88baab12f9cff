"""The backend seam: what the domain services may ask of a backend, and nothing more.

A backend is one object with a part per domain (``backend.registry.set_alias(...)``). ``LocalBackend``
implements it over SQLAlchemy and a blob store in this process; an HTTP backend will implement it by
speaking to ``shipyard server``. Domain code is typed against these protocols only, so it never knows
which one it has, and each protocol lists only the methods domain code calls: a store's internal helpers
stay off it, which keeps the surface a remote backend must serve small.

Every signature uses ``core`` entity types and builtins, never a database type. The contract each method
promises (errors, idempotence, pagination) is pinned by ``tests/backends/conformance``, which every backend
passes. This module imports only ``shipyard.core``: a client package may import it without SQLAlchemy.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from shipyard.core import policy_rules
from shipyard.core.entities import (
    AuditEvent,
    Canary,
    DatasetVersion,
    GatePolicyVersion,
    Metric,
    ModelVersion,
    RegisteredModel,
    RunArtifact,
    RunPage,
    RunRecord,
    RunStatus,
    Schedule,
    StepRecord,
)
from shipyard.core.entities_accounts import ApiToken, Membership, Principal, Role, User
from shipyard.core.entities_gate import Decision, Verification
from shipyard.core.entities_monitoring import Alert, LoopRecord, PredictionSegment, WindowRecord
from shipyard.core.entities_storage import FileRow, GcReport, MetricRow
from shipyard.core.refs import Ref


class RunsBackend(Protocol):
    """Runs and what they hold: params, metrics, tags, artifacts; liveness and deletion."""

    def create_run(
        self,
        run_id: str,
        *,
        project: str,
        name: str,
        parent_id: str | None = None,
        tags_: Mapping[str, str] | None = None,
        environment: Mapping[str, Any] | None = None,
        pid: int = 0,
    ) -> RunRecord: ...
    def resume_run(self, run_id: str, *, pid: int) -> RunRecord: ...
    def end_run(self, run_id: str, status: RunStatus) -> None: ...
    def heartbeat(self, run_ids: Sequence[str]) -> None: ...
    def delete_run(self, run_id: str, *, actor: str = "unknown") -> None: ...
    def restore_run(self, run_id: str, *, actor: str = "unknown") -> None: ...
    def purgeable_runs(self, deleted_before: int) -> list[str]: ...
    def purge_deleted_runs(self, deleted_before: int, *, actor: str = "unknown") -> list[str]: ...
    def write(
        self,
        run_id: str,
        *,
        metrics_: Sequence[MetricRow] = (),
        params_: Mapping[str, str] | None = None,
        tags_: Mapping[str, str] | None = None,
    ) -> None: ...
    def next_steps(self, run_id: str) -> dict[str, int]: ...
    def get_metric_history(self, run_id: str, key: str, *, max_points: int | None = None) -> list[Metric]: ...
    def add_artifacts(self, run_id: str, items: Iterable[RunArtifact]) -> None: ...
    def list_artifacts(self, run_id: str, prefix: str = "") -> list[RunArtifact]: ...
    def referenced_digests(self, excluding_runs: Sequence[str] = ()) -> set[str]: ...
    def get_run(self, run_id: str) -> RunRecord: ...
    def search_runs(
        self,
        project: str | None = None,
        *,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        include_deleted: bool = False,
    ) -> RunPage: ...
    def list_projects(self) -> list[str]: ...


class DatasetsBackend(Protocol):
    """Dataset versions, and which runs read them."""

    def add_version(
        self,
        project: str,
        name: str,
        *,
        digest: str,
        blob_digest: str,
        rows: int,
        size_bytes: int,
        schema: Mapping[str, Any],
        profile: Mapping[str, Any],
        description: str,
        actor: str,
    ) -> tuple[DatasetVersion, bool]: ...
    def get_version(self, project: str, name: str, version: int | None = None) -> DatasetVersion: ...
    def list_versions(self, project: str, name: str) -> list[DatasetVersion]: ...
    def list_datasets(self, project: str | None = None) -> list[DatasetVersion]: ...
    def add_run_input(self, run_id: str, dataset_version_id: int, role: str) -> None: ...
    def run_inputs(self, run_id: str) -> list[tuple[str, DatasetVersion]]: ...
    def runs_using(self, dataset_version_id: int) -> list[tuple[str, str]]: ...


class RegistryBackend(Protocol):
    """Models, versions, aliases (the protected ones guarded here) and the audit log."""

    def create_version(
        self,
        project: str,
        name: str,
        *,
        flavor: str,
        artifact_digest: str,
        package: Mapping[str, Any],
        unsafe_format: bool,
        files: Sequence[FileRow],
        run_id: str | None,
        datasets_: Sequence[tuple[int, str]] = (),
        parents: Sequence[int] = (),
        tags: Mapping[str, str] | None = None,
        description: str = "",
        actor: str,
    ) -> ModelVersion: ...
    def get_version(self, project: str, ref: Ref, *, include_deleted: bool = False) -> ModelVersion: ...
    def list_versions(self, project: str, name: str, *, include_deleted: bool = False) -> list[ModelVersion]: ...
    def list_models(self, project: str | None = None) -> list[RegisteredModel]: ...
    def versions_using_dataset(self, dataset_version_id: int) -> list[tuple[str, ModelVersion]]: ...
    def set_alias(
        self, project: str, name: str, version: int, alias: str, *, actor: str, override_reason: str | None = None
    ) -> ModelVersion: ...
    def protected_aliases(self, project: str) -> frozenset[str]: ...
    def rollback(
        self, project: str, name: str, *, actor: str, override_reason: str | None = None
    ) -> tuple[int, int]: ...
    def delete_alias(self, project: str, name: str, alias: str, *, actor: str) -> int: ...
    def set_status(self, project: str, name: str, version: int, status: str, *, actor: str) -> ModelVersion: ...
    def delete_version(self, project: str, name: str, version: int, *, actor: str) -> None: ...
    def set_version_tags(self, project: str, name: str, version: int, tags: Mapping[str, str]) -> None: ...
    def set_description(self, project: str, name: str, description: str, version: int | None = None) -> None: ...
    def verify_audit(self, expect_head: str | None = None) -> Verification: ...
    def audit_head(self) -> tuple[int, str]: ...
    def audit_events(
        self, project: str | None = None, *, subject: str | None = None, limit: int = 100
    ) -> list[AuditEvent]: ...


class VerdictsBackend(Protocol):
    """Gate verdicts, and the gate's decision for a version under the policy in force."""

    def add(
        self,
        verdict_id: str,
        *,
        model_version_id: int,
        policy_digest: str,
        dataset_version_id: int,
        shipyard_version: str,
        passed: bool,
        result: Mapping[str, Any],
        report_digest: str | None,
        actor: str,
    ) -> tuple[bool, str]: ...
    def binding_of(self, project: str, policy_digest: str, dataset_version_id: int) -> tuple[bool, str]: ...
    def latest(self, model_version_id: int) -> dict[str, Any] | None: ...
    def decision(self, project: str, model_version_id: int) -> Decision: ...


class PoliciesBackend(Protocol):
    """The gate policy in force per project, and its history."""

    def apply(
        self,
        project: str,
        table: Mapping[str, Any],
        *,
        source: str,
        reason: str = "",
        implicit: bool = False,
        actor: str,
    ) -> tuple[GatePolicyVersion, list[policy_rules.PolicyChange]]: ...
    def in_force(self, project: str) -> GatePolicyVersion | None: ...
    def history(self, project: str) -> list[GatePolicyVersion]: ...


class GateServer(Protocol):
    """The gate as a server runs it for its callers: under the server's policy in force, in a process the
    server owns, the verdicts stored by the server with the caller as actor (a client never writes one)."""

    def evaluate(self, project: str, models: Sequence[str], *, data: str | None = None) -> list[dict[str, Any]]:
        """Judge ``models`` (``NAME@VERSION`` refs in ``project``) together on ``data`` (``NAME[@VERSION]``, default
        the policy's ``[gate] data``); each stored verdict as ``Verdict.to_dict`` gives it."""


class PipelinesBackend(Protocol):
    """The steps of pipeline runs, the step cache, and the datasets steps produced."""

    def add_nodes(self, pipeline_run_id: str, nodes: Sequence[tuple[str, str, Sequence[str]]]) -> None: ...
    def update_node(self, pipeline_run_id: str, node: str, **fields: Any) -> None: ...
    def nodes(self, pipeline_run_id: str) -> list[StepRecord]: ...
    def find_cached(self, cache_key: str) -> tuple[str, dict[str, Any]] | None: ...
    def add_outputs(self, run_id: str, outputs: Mapping[str, int]) -> None: ...
    def producers(self, dataset_version_id: int) -> list[tuple[str, str]]: ...
    def outputs_of(self, run_id: str) -> list[tuple[str, DatasetVersion]]: ...


class SchedulesBackend(Protocol):
    """Cron schedules, and the lease a scheduler takes to run one."""

    def upsert(
        self,
        project: str,
        name: str,
        *,
        target: str,
        cron: str,
        params: Mapping[str, str],
        options: Mapping[str, Any],
        next_run_at: int,
        actor: str,
    ) -> Schedule: ...
    def delete(self, project: str, name: str) -> None: ...
    def claim_due(self, now: int, owner: str, lease_ms: int) -> builtins.list[Schedule]: ...
    def renew(self, schedule_id: int, owner: str, lease_until: int) -> bool: ...
    def release(
        self,
        schedule_id: int,
        owner: str,
        *,
        run_id: str | None,
        status: str,
        finished_at: int,
        next_run_at: int,
        cron: str | None = None,
    ) -> bool: ...
    def earliest_next_run(self, after: int) -> int | None: ...
    def list(self, project: str | None = None) -> builtins.list[Schedule]: ...


class PredictionsBackend(Protocol):
    """Segments of prediction logs and feedback: which blob holds which rows."""

    def add_segment(
        self,
        project: str,
        model: str,
        kind: str,
        *,
        blob_digest: str,
        rows: int,
        first_at: int,
        last_at: int,
        versions: Iterable[int] = (),
    ) -> int: ...
    def segments(
        self, project: str, model: str, kind: str, *, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[PredictionSegment]: ...


class MonitorsBackend(Protocol):
    """Monitor windows, drift references, and alerts with their notification state."""

    def put_reference(self, key: str, blob_digest: str, format: int) -> None: ...
    def get_reference(self, key: str) -> tuple[str, int] | None: ...
    def add_window(
        self,
        project: str,
        monitor: str,
        *,
        model: str,
        version: int | None,
        start_at: int,
        end_at: int,
        rows: int,
        status: str,
        results: Mapping[str, Any],
    ) -> WindowRecord: ...
    def windows(
        self, project: str, monitor: str, *, since_ms: int | None = None, limit: int | None = None
    ) -> list[WindowRecord]: ...
    def last_window(self, project: str, monitor: str) -> WindowRecord | None: ...
    def raise_alert(
        self, project: str, monitor: str, rule: str, *, model: str, message: str, details: Mapping[str, Any]
    ) -> tuple[Alert, bool]: ...
    def resolve_rule(self, project: str, monitor: str, rule: str, *, by: str = "monitor") -> Alert | None: ...
    def set_state(self, alert_id: int, state: str, *, by: str) -> Alert: ...
    def alerts(
        self,
        project: str | None = None,
        *,
        states: tuple[str, ...] | None = None,
        monitor: str | None = None,
        limit: int = 100,
    ) -> list[Alert]: ...
    def set_notification(self, alert_id: int, state: str, *, attempts: int, error: str | None = None) -> None: ...


class CanariesBackend(Protocol):
    """Canaries: a challenger taking a share of a model's live traffic, guarded like a protected alias."""

    def start(
        self,
        project: str,
        model: str,
        version: int,
        share: float,
        *,
        reason: str,
        actor: str,
        override_reason: str | None = None,
    ) -> Canary: ...
    def end(self, project: str, model: str, outcome: str, *, reason: str, actor: str) -> Canary: ...
    def running(self, project: str, model: str) -> Canary | None: ...
    def history(self, project: str, model: str, *, limit: int = 20) -> list[Canary]: ...


class LoopsBackend(Protocol):
    """Retraining loops: one per model at a time, advanced step by step, each step audited."""

    def start(
        self,
        project: str,
        model: str,
        *,
        monitor: str,
        alert_id: int | None,
        champion_version: int | None,
        baseline_version: int,
        actor: str,
        message: str,
    ) -> LoopRecord: ...
    def advance(self, loop_id: int, state: str, message: str, *, actor: str, **fields: Any) -> LoopRecord: ...
    def loops(
        self, project: str | None = None, *, model: str | None = None, unfinished: bool = False, limit: int = 50
    ) -> list[LoopRecord]: ...


class BlobsBackend(Protocol):
    """Content-addressed blobs: written once, named by their sha256 digest, verified on every read."""

    @property
    def url(self) -> str: ...
    def put_file(self, path: str | os.PathLike[str]) -> tuple[str, int]: ...
    def adopt_file(self, path: str | os.PathLike[str]) -> tuple[str, int]: ...
    def scratch_dir(self) -> Path | None: ...
    def put_bytes(self, data: bytes) -> tuple[str, int]: ...
    def exists(self, digest: str) -> bool: ...
    def size(self, digest: str) -> int: ...
    def read_bytes(self, digest: str) -> bytes: ...
    def download(self, digest: str, dest: str | os.PathLike[str]) -> None: ...
    def iter_blobs(self) -> Iterator[tuple[str, int, float]]: ...
    def gc(
        self, referenced: set[str], grace_seconds: float, now: float | None = None, dry_run: bool = False
    ) -> GcReport: ...


class Backend(Protocol):
    """What domain services call: one part per domain, and the backend's own lifetime.

    ``store`` is the runs part (its name predates the seam; call sites read ``backend.store.get_run``).
    """

    @property
    def store(self) -> RunsBackend: ...
    @property
    def datasets(self) -> DatasetsBackend: ...
    @property
    def registry(self) -> RegistryBackend: ...
    @property
    def verdicts(self) -> VerdictsBackend: ...
    @property
    def policies(self) -> PoliciesBackend: ...
    @property
    def pipelines(self) -> PipelinesBackend: ...
    @property
    def schedules(self) -> SchedulesBackend: ...
    @property
    def predictions(self) -> PredictionsBackend: ...
    @property
    def monitors(self) -> MonitorsBackend: ...
    @property
    def canaries(self) -> CanariesBackend: ...
    @property
    def loops(self) -> LoopsBackend: ...
    @property
    def blobs(self) -> BlobsBackend: ...
    @property
    def accounts(self) -> AccountsBackend: ...
    @property
    def gate_server(self) -> GateServer | None:
        """Who runs the gate: None, this process (a local backend); else the server, which also decides
        overrides and writes every verdict (an HTTP backend)."""

    @property
    def metadata_location(self) -> str:
        """Where the metadata lives, for messages: a database URL with any password hidden, or a server URL."""

    def after_fork(self) -> None:
        """Drop connections inherited from a parent process, without closing the parent's (``os.fork`` child)."""

    def close(self) -> None: ...


class AccountsBackend(Protocol):
    """Users, API tokens (only their hashes kept), per-project roles and password logins; every change audited.

    ``authenticate`` and ``login`` raise ``Unauthenticated`` (``TooManyAttempts`` after repeated failed logins
    of one user name) and return the ``Principal`` whose roles the server checks.
    """

    def add_user(self, name: str, *, admin: bool = False, password: str | None = None, actor: str) -> User: ...
    def get_user(self, name: str) -> User: ...
    def list_users(self) -> list[User]: ...
    def count_users(self) -> int: ...
    def disable_user(self, name: str, *, actor: str) -> User: ...
    def set_password(self, name: str, password: str, *, actor: str) -> None: ...
    def create_token(
        self, user: str, *, name: str = "", expires_at: int | None = None, actor: str
    ) -> tuple[ApiToken, str]: ...
    def list_tokens(self, user: str | None = None) -> list[ApiToken]: ...
    def revoke_token(self, token_id: int, *, actor: str) -> ApiToken: ...
    def authenticate(self, secret: str) -> Principal: ...
    def login(self, name: str, password: str) -> Principal: ...
    def add_member(self, project: str, user: str, role: Role | str, *, actor: str) -> Membership: ...
    def remove_member(self, project: str, user: str, *, actor: str) -> None: ...
    def members(self, project: str | None = None) -> list[Membership]: ...
