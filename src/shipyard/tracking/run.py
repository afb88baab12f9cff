"""``Run``: the handle a training script logs through.

Metric points are buffered in memory and written in batches: when ``flush_max_points`` are waiting,
every ``flush_interval`` seconds from a background thread, on ``flush()``, at the end of the run and
at interpreter exit. ``flush()`` returns only once the points are committed.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from shipyard.artifacts import check_artifact_path
from shipyard.core import validation as v
from shipyard.core.entities import DatasetVersion, Metric, ModelVersion, RunArtifact, RunRecord, RunStatus
from shipyard.core.errors import Conflict, InvalidInput, NotFound, ShipyardError, StoreError

if TYPE_CHECKING:
    from shipyard.tracking.client import Client

# The one documented piece of ambient state: the run whose ``with`` block we are in, so a run started
# inside it becomes its child by default. Context-local, so threads and tasks don't share it.
_active_run: contextvars.ContextVar[Run | None] = contextvars.ContextVar("shipyard_active_run", default=None)
_MIN_INT64, _MAX_INT64 = -(2**63), 2**63 - 1
MetricPoint = Metric | tuple[str, float] | tuple[str, float, int] | tuple[str, float, int, int]
Point = tuple[str, float, int, int]  # key, value, step, timestamp (ms): as buffered and written


class Run:
    """A running run. Use it as a context manager: the run ends ``finished``, or ``failed`` if the block raises."""

    def __init__(self, client: Client, record: RunRecord, next_steps: Mapping[str, int] | None = None) -> None:
        self._client = client
        self._store = client.backend.store
        self.id = record.id
        self.project = record.project
        self.name = record.name
        self.parent_id = record.parent_id
        self._buffer: list[Point] = []
        # Points the store refused (they got past the checks at the call), with why; the run ends failed.
        self._refused: list[tuple[Point, str]] = []
        self._refused_reported = 0
        self._buffer_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._max_points = client.settings.flush_max_points
        self._next_step: dict[str, int] = dict(next_steps or {})
        self._checked_keys: set[str] = set()
        self._ended = False
        self._context_token: contextvars.Token[Run | None] | None = None

    def __repr__(self) -> str:
        return f"<Run {self.id} project={self.project!r} name={self.name!r}>"

    @property
    def info(self) -> RunRecord:
        """The run as the store has it now (flushes first, so the metrics are current)."""
        self.flush()
        return self._store.get_run(self.id)

    # params and tags ---------------------------------------------------------------------------------

    def log_param(self, key: str, value: Any) -> None:
        """Log one param (see ``log_params``): ``run.log_param("lr", 0.1)``."""
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Params are immutable: another value for a logged key raises ``Conflict``; the same value is a no-op."""
        checked = v.check_params(params)
        self._check_open()
        self._store.write(self.id, params_=checked)

    def set_tag(self, key: str, value: Any) -> None:
        """Set one tag (see ``set_tags``): ``run.set_tag("team", "growth")``."""
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set tags; unlike params, a tag may be set again to another value."""
        checked = v.check_tags(tags)
        self._check_open()
        self._store.write(self.id, tags_=checked)

    # metrics -----------------------------------------------------------------------------------------

    def log_metric(self, key: str, value: float, step: int | None = None, timestamp: int | None = None) -> None:
        """Buffer one point. ``step`` defaults to one past this key's last step; ``timestamp`` (ms) to now.

        The point is checked here, whole, so a bad one raises ``InvalidInput`` and nothing is buffered.
        """
        # The hot path: exact-class and range tests inline; the validators only build the error messages.
        if key not in self._checked_keys:
            v.check_key(key, "metric")
            self._checked_keys.add(key)
        if value.__class__ is not float:
            value = v.check_metric_value(value, key)
        if step is None:
            step = self._next_step.get(key, 0)
            if step > _MAX_INT64:
                raise v.no_next_step(key)
        elif step.__class__ is not int or not _MIN_INT64 <= step <= _MAX_INT64:
            step = v.check_step(step, key)
        if timestamp is None:
            timestamp = int(time.time() * 1000)
        elif timestamp.__class__ is not int or not _MIN_INT64 <= timestamp <= _MAX_INT64:
            timestamp = v.check_timestamp(timestamp, key)
        if self._ended:
            self._check_open()
        self._next_step[key] = step + 1
        with self._buffer_lock:
            self._buffer.append((key, value, step, timestamp))
            full = len(self._buffer) >= self._max_points
        if full:
            self._write_points()

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None, timestamp: int | None = None) -> None:
        """Buffer several metrics at one step (each key's own next step when ``step`` is None).

        Every point is checked before any is buffered.
        """
        checked = v.check_mapping(metrics)
        if timestamp is None:
            now = int(time.time() * 1000)
        elif timestamp.__class__ is not int or not _MIN_INT64 <= timestamp <= _MAX_INT64:
            now = v.check_timestamp(timestamp, next(iter(checked), ""))
        else:
            now = timestamp
        points = self._points(((k, x) if step is None else (k, x, step) for k, x in checked.items()), now)
        self._check_open()
        for key, _, point_step, _ in points:
            self._next_step[key] = point_step + 1
        with self._buffer_lock:
            self._buffer += points
            full = len(self._buffer) >= self._max_points
        if full:
            self._write_points()

    def log_batch(
        self,
        metrics: Iterable[MetricPoint] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Write metric points, params and tags at once, in one transaction: all of them or none.

        A point is a ``Metric`` or a tuple ``(key, value[, step[, timestamp_ms]])``.
        """
        points = self._points(metrics)
        checked_params = v.check_params(params)
        checked_tags = v.check_tags(tags)
        self._check_open()
        self._write_points()  # the buffered points go first, so that steps keep their order
        self._store.write(self.id, metrics_=points, params_=checked_params, tags_=checked_tags)
        for key, _, step, _ in points:
            if step >= self._next_step.get(key, 0):
                self._next_step[key] = step + 1

    def _points(self, items: Iterable[MetricPoint], now: int | None = None) -> list[Point]:
        """Check every point; ``now`` (checked already) is the timestamp of points without one (default: now)."""
        # The hot loop of a batch: type checks by exact class first, full validation only off the fast path.
        if now is None:
            now = int(time.time() * 1000)
        next_step = dict(self._next_step)
        checked = self._checked_keys
        points = []
        for item in items:
            size = len(item) if isinstance(item, tuple) else 0
            if size == 3:
                key, value, step = item  # type: ignore[misc]
                timestamp = now
            elif size == 4:
                key, value, step, timestamp = item  # type: ignore[misc]
            elif size == 2:
                key, value = item  # type: ignore[misc]
                step, timestamp = next_step.get(key, 0), now
                if step > _MAX_INT64:
                    raise v.no_next_step(key)
            else:
                raise InvalidInput(
                    f"A metric point is a Metric or a tuple (key, value[, step[, timestamp_ms]]); got {item!r}."
                )
            if key not in checked:
                checked.add(v.check_key(key, "metric"))
            if value.__class__ is not float:
                value = v.check_metric_value(value, key)
            if step.__class__ is not int or not _MIN_INT64 <= step <= _MAX_INT64:
                step = v.check_step(step, key)
            if timestamp is not now and (timestamp.__class__ is not int or not _MIN_INT64 <= timestamp <= _MAX_INT64):
                timestamp = v.check_timestamp(timestamp, key)
            next_step[key] = step + 1
            points.append((key, value, step, timestamp))
        return points

    def flush(self) -> None:
        """Write every buffered point; returns once they are durable. Re-raises a failed background write.

        If the write fails, the points stay buffered for the next flush. A point the store refuses (one
        that got past the checks at the call) is set aside and the others are written; the refusal is
        raised as ``InvalidInput``, once, here or by the next flush, and the run will end ``failed``.
        """
        with self._flush_lock:
            self._write_buffer()
            if len(self._refused) > self._refused_reported:
                refused, self._refused_reported = self._refused[self._refused_reported :], len(self._refused)
                raise InvalidInput(
                    f"{_points_text(len(refused))} of run {self.id} could not be stored: {_refused_text(refused)}. "
                    "The other points were written; the run will end failed, as its history is incomplete."
                )

    def _write_points(self) -> None:
        # flush() without reporting points set aside, for the calls that write on the way: the point
        # logged, or the batch, is not the one at fault, and flush() or end() will report it.
        with self._flush_lock:
            self._write_buffer()

    def _write_buffer(self) -> None:
        # Under _flush_lock. Whatever is not written or set aside goes back to the front of the buffer.
        with self._buffer_lock:
            points, self._buffer = self._buffer, []
        try:
            if points:
                try:
                    self._store.write(self.id, metrics_=points)
                except InvalidInput:
                    problems = [(point, v.metric_point_problem(point)) for point in points]
                    refused = [(point, why) for point, why in problems if why is not None]
                    if not refused:
                        raise  # no point is to blame: keep them all
                    self._refused += refused
                    points = [point for point, why in problems if why is None]
                    if points:
                        self._store.write(self.id, metrics_=points)
                points = []
        except BaseException:
            with self._buffer_lock:
                self._buffer[:0] = points  # keep them for the next attempt, in order
            raise

    def _flush_quietly(self) -> None:
        # From the background thread: a failed write keeps its points buffered, and the next flush()
        # the user makes retries them and raises if it fails again (or reports the points set aside).
        with contextlib.suppress(Exception):
            self._write_points()

    # artifacts ---------------------------------------------------------------------------------------

    def log_artifact(self, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> list[RunArtifact]:
        """Store a file, or a folder recursively, under ``artifact_path`` (default: its own name).

        Symbolic links in a folder are followed while they stay inside it; one that leads outside it (or
        nowhere) raises ``InvalidInput`` before anything is stored.
        """
        from shipyard.artifacts.folders import folder_files

        if not isinstance(local_path, str | os.PathLike):
            raise InvalidInput(
                "The 'local_path' parameter of Run.log_artifact must be a str or os.PathLike naming a file or "
                f"folder. Got {local_path!r} instead."
            )
        source = Path(local_path)
        if not source.exists():
            raise NotFound(f"Cannot log {str(local_path)!r} as an artifact: no such file or folder.")
        self._check_open()
        base = check_artifact_path(artifact_path if artifact_path is not None else source.resolve().name)
        if source.is_dir():
            pairs = [(p, check_artifact_path(f"{base}/{relative}")) for p, relative in folder_files(source)]
        else:
            pairs = [(source, base)]
        logged = []
        for file, path in pairs:
            digest, size = self._client.backend.blobs.put_file(file)
            logged.append(RunArtifact(path, digest, size))
        self._store.add_artifacts(self.id, logged)
        return logged

    # datasets and models -----------------------------------------------------------------------------

    def use_dataset(self, dataset: DatasetVersion | str, role: str = "train") -> DatasetVersion:
        """Record that this run used a dataset version (``"churn-train@2"`` or the object), as ``role``."""
        from shipyard.registry.service import _check_role

        version = self._client.datasets.get(dataset, project=self.project)
        self._check_open()
        self._client.backend.datasets.add_run_input(self.id, version.id, _check_role(role))
        return version

    def log_model(
        self,
        model: Any,
        name: str,
        *,
        train_data: Any = None,
        input_example: Any = None,
        flavor: str | None = None,
        datasets: Mapping[str, DatasetVersion | str] | None = None,
        parents: Sequence[str | ModelVersion] = (),
        tags: Mapping[str, Any] | None = None,
        description: str = "",
    ) -> ModelVersion:
        """Package ``model`` and register it as the next version of ``name``, produced by this run.

        The signature comes from ``input_example`` or ``train_data`` (a dataset version, a reference to
        one, or a table); a dataset version given as ``train_data`` is recorded as the training data.
        """
        self._check_open()
        return self._client.models.log(
            model,
            name,
            project=self.project,
            run_id=self.id,
            flavor=flavor,
            train_data=train_data,
            input_example=input_example,
            datasets=datasets,
            parents=parents,
            tags=tags,
            description=description,
        )

    # lifecycle ---------------------------------------------------------------------------------------

    def end(self, status: RunStatus | str = RunStatus.FINISHED) -> None:
        """Flush and end the run. Ending twice is a no-op.

        A run whose points could not all be stored never ends ``finished``: it ends ``failed`` and ``end``
        raises ``InvalidInput`` saying which points and why. If the store cannot be reached, ``end`` raises
        ``StoreError`` and leaves the run open with its points buffered: call ``end`` again to retry.
        """
        if self._ended:
            return
        status = RunStatus(status)
        problem: InvalidInput | None = None
        try:
            self.flush()
        except StoreError:
            raise  # the run stays open (and heartbeating), its points buffered for the next try
        except InvalidInput as exc:
            problem = exc
        except Exception:
            self._close(RunStatus.FAILED, quietly=True)
            raise
        if problem is None and not self._refused:
            self._close(status)
            return
        self._close(RunStatus.FAILED, quietly=True)
        reasons = []
        if self._refused:
            reasons.append(f"{_points_text(len(self._refused))} could not be stored: {_refused_text(self._refused)}")
        if self._buffer or not reasons:
            reasons.append(f"{_points_text(len(self._buffer))} could not be written: {problem}")
        instead = "" if status is RunStatus.FAILED else f", not {status.value},"
        raise InvalidInput(
            f"Run {self.id} ended failed{instead} because {'; and '.join(reasons)}. Its other points were stored."
        ) from problem

    def _close(self, status: RunStatus, *, quietly: bool = False) -> None:
        self._ended = True
        self._client._background.unregister(self)
        if not quietly:
            self._store.end_run(self.id, status)
            return
        with contextlib.suppress(ShipyardError):  # the error about to be raised says more than this one
            self._store.end_run(self.id, status)

    def _check_open(self) -> None:
        if self._ended:
            raise Conflict(
                f"Run {self.id} has ended; it accepts no more writes. Start a new run, or resume this one "
                f"with sy.start_run(run_id={self.id!r})."
            )

    def __enter__(self) -> Run:
        self._context_token = _active_run.set(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._context_token is not None:
            with contextlib.suppress(ValueError):  # left in another context than entered: nothing to restore
                _active_run.reset(self._context_token)
            self._context_token = None
        self.end(RunStatus.FINISHED if exc_type is None else RunStatus.FAILED)


def _points_text(count: int) -> str:
    return "1 metric point" if count == 1 else f"{count:,} metric points"


def _refused_text(refused: Sequence[tuple[Point, str]]) -> str:
    (key, _, step, timestamp), why = refused[0]
    more = f" (and {len(refused) - 1:,} more)" if len(refused) > 1 else ""
    return f"({key!r}, step {step}, timestamp {timestamp}){more}: {why.rstrip('.')}"
