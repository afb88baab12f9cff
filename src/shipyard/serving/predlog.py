"""The prediction log: what a deployment answered, appended off the request path and read back as a table.

Serving hands each answered request to :meth:`PredictionLog.append`, which never blocks and never raises: a
bounded queue takes the record, and one background thread turns batches of records into Parquet segments
(zstd) in the artifact store, each indexed by a row of ``prediction_segments`` in the metadata store. The
writer is not woken per record (on a busy server each wake-up would take the interpreter from the requests):
it looks at the queue every ``_POLL`` seconds, or as soon as a slice of records is waiting. A
segment is written once it holds ``segment_rows`` rows or ``segment_bytes`` of Arrow data (whichever comes
first: wide inputs fill the bytes first), once its oldest row has waited ``segment_seconds``, and on
:meth:`~PredictionLog.flush` and :meth:`~PredictionLog.close`. Those bounds are the log's memory: what is
buffered, plus the Parquet writer's, which sees a row group of at most ``_ROW_GROUP_BYTES`` at a time and
dictionary-encodes no floating-point or request-id column (their values rarely repeat, and a dictionary per
such column would cost more memory than the segment's data). When the queue is full, or a segment
cannot be written (the artifact store unwritable, the database down), its records are dropped and counted,
a warning goes to the ``shipyard.serving`` logger, and serving goes on: a log never takes a service down.
Feedback has a bound of its own in the queue (``max_feedback_queue``), so a flood of labels can never
crowd out the predictions' records; a batch of labels is taken whole or not at all.

A request with n input rows becomes n log rows:

    request_id   large_string        the request's id
    row          int64               index of the row within the request
    at           timestamp[ms, UTC]  when the request was answered
    version      int64               the model version that answered
    role         large_string        champion, canary or shadow
    latency_ms   float64             the request's latency (the same on each of its rows)
    prediction   float64 or text     the row's prediction
    score        float64             a binary classifier's positive-class probability (when the server gave it)
    <inputs>     canonical types     the request's input columns under their own names, typed as dataset
                                     versions are (shipyard.data.tables), so monitoring compares them to the
                                     training data as they are; an input whose name is one of the columns
                                     above is stored as ``input.<name>``

Feedback rows (ground truth that arrives later): ``request_id``, ``at``, ``label``, ``row`` (null when the
label is for the whole request). A prediction or label is float64 when every value of its segment is a
number or a boolean; otherwise it is text: strings as they are, anything else (lists of probabilities,
dicts) as JSON. Input values that are lists or dicts are stored as JSON text too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import numbers
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import chain, repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from shipyard.core.errors import InvalidInput
from shipyard.core.validation import check_name
from shipyard.data.tables import as_arrow

if TYPE_CHECKING:
    from shipyard.backends.protocol import Backend

log = logging.getLogger("shipyard.serving")

ROLES = ("champion", "canary", "shadow")
INPUT_PREFIX = "input."
_AT = pa.timestamp("ms", tz="UTC")
PREDICTION_SCHEMA = pa.schema(
    [
        ("request_id", pa.large_string()),
        ("row", pa.int64()),
        ("at", _AT),
        ("version", pa.int64()),
        ("role", pa.large_string()),
        ("latency_ms", pa.float64()),
        ("prediction", pa.float64()),
    ]
)
FEEDBACK_SCHEMA = pa.schema(
    [("request_id", pa.large_string()), ("at", _AT), ("label", pa.float64()), ("row", pa.int64())]
)
_RESERVED = frozenset((*PREDICTION_SCHEMA.names, "score"))
_ENCODE_SLICE = 512  # records turned into Arrow at a time, as they arrive (see _Buffer.encoded)
_DRAIN = 1024  # records taken off the queue per pass at most, so a due segment is not kept waiting
_PLAIN_NUMBERS = frozenset((float, int, type(None)))
_POLL = 0.1  # seconds between the writer's looks at the queue when fewer than a slice of records wait
_ROW_GROUP_BYTES = 1 << 20  # Arrow bytes per Parquet row group: what the writer holds encoded at a time


class PredictionRecord(NamedTuple):
    """One answered request: ``inputs`` maps each input column to its values, one per row, as ``outputs`` has."""

    request_id: str
    at_ms: int
    version: int
    role: str
    inputs: Mapping[str, Sequence[Any]]
    outputs: Sequence[Any]
    latency_ms: float
    scores: Sequence[float] | None = None
    """For a binary classifier: the positive class's probability of each row (``score``)."""


class _Feedback(NamedTuple):
    request_id: str
    label: Any
    at_ms: int
    row: int | None


@dataclass
class _Marker:
    """Put on the queue by flush and close: everything queued before it is written when it is reached."""

    stop: bool = False
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Buffer:
    records: list[Any] = field(default_factory=list)
    encoded: list[tuple[pa.Table, int]] = field(default_factory=list)
    """Records already turned into Arrow (a slice at a time), so tens of thousands of buffered Python
    objects never sit in memory for the garbage collector to walk while the server answers requests."""
    rows: int = 0
    nbytes: int = 0  # of the encoded tables
    since: float = 0.0  # time.monotonic() of the oldest record

    @property
    def empty(self) -> bool:
        return not self.records and not self.encoded


class PredictionLog:
    """The prediction log and feedback of one served model, written in the background.

    >>> plog = PredictionLog(backend, "churn", "churn")
    >>> plog.append(PredictionRecord("r1", now_ms, 3, "champion", {"tenure": [4, 30]}, [0.8, 0.1], 2.5))
    True
    >>> plog.close()   # writes what is queued; at shutdown, after the last request

    ``dropped`` counts records (one per ``append`` or ``append_feedback``) lost to a full queue, a log that
    was closed, or a failed write; ``written_rows`` counts log rows written.
    """

    def __init__(
        self,
        backend: Backend,
        project: str,
        model: str,
        *,
        max_queue: int = 10_000,
        max_queue_rows: int = 100_000,
        max_feedback_queue: int = 20_000,
        segment_rows: int = 50_000,
        segment_bytes: int = 4 << 20,
        segment_seconds: float = 60.0,
    ) -> None:
        bounds = (
            ("max_queue", max_queue),
            ("max_queue_rows", max_queue_rows),
            ("max_feedback_queue", max_feedback_queue),
            ("segment_rows", segment_rows),
            ("segment_bytes", segment_bytes),
        )
        for name, value in bounds:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInput(
                    f"The {name!r} parameter of PredictionLog must be an int >= 1. Got {value!r} instead."
                )
        if isinstance(segment_seconds, bool) or not isinstance(segment_seconds, int | float) or not segment_seconds > 0:
            raise InvalidInput(
                "The 'segment_seconds' parameter of PredictionLog must be a number > 0. "
                f"Got {segment_seconds!r} instead."
            )
        self._backend = backend
        self.project = check_name(project, "project")
        self.model = check_name(model, "model")
        self._max_queue = max_queue
        self._max_queue_rows = max_queue_rows
        """Input rows the answered requests waiting in the queue may hold together (a request may hold thousands):
        what bounds the queue's memory. A request larger than this alone is taken when none waits."""
        self.max_feedback_queue = max_feedback_queue
        """Feedback items the queue holds at most, apart from the ``max_queue`` answered requests."""
        self._segment_rows = segment_rows
        self._segment_bytes = segment_bytes
        self._segment_seconds = float(segment_seconds)
        self._queue: deque[tuple[str, Any] | _Marker] = deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._queued = self._dropped = self._write_errors = self._written_rows = 0
        self._queued_feedback = 0  # of self._queued
        self._queued_rows = 0  # of the answered requests queued
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"shipyard-predlog-{model}", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"<PredictionLog {self.project}/{self.model} depth={self.depth} dropped={self.dropped}>"

    def __enter__(self) -> PredictionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the request path ------------------------------------------------------------------------------

    def append(self, record: PredictionRecord) -> bool:
        """Queue one answered request; False (and counted in ``dropped``) if the queue is full or the log closed."""
        rows = _rows(record)
        with self._lock:
            waiting = self._queued - self._queued_feedback
            if (
                self._closed
                or waiting >= self._max_queue
                or (waiting and self._queued_rows + rows > self._max_queue_rows)
            ):
                self._dropped += 1
                return False
            self._queued += 1
            self._queued_rows += rows
            # Under the lock, so nothing can land behind close()'s stop marker.
            self._queue.append(("predictions", record))
            if self._queued == _ENCODE_SLICE:
                self._wake.set()
        return True

    def append_feedback(self, request_id: str, label: Any, at_ms: int | None = None, *, row: int | None = None) -> bool:
        """Queue the ground truth for ``request_id`` (for one of its rows if ``row`` is given); False (and counted
        in ``dropped``) if the feedback queue is full or the log closed."""
        if self.append_feedback_items([(request_id, label, row)], at_ms):
            return True
        with self._lock:
            self._dropped += 1
        return False

    def append_feedback_items(self, items: Sequence[tuple[str, Any, int | None]], at_ms: int | None = None) -> bool:
        """Queue several ``(request_id, label, row)`` at once, all or none.

        False, with none taken, when the feedback queue has no room for all of them or the log is closed;
        these are not counted in ``dropped``: the caller knows, and answers its client so (``/feedback``
        answers 503, retry later), rather than a share of them vanishing.
        """
        at = int(time.time() * 1000) if at_ms is None else at_ms
        records = [("feedback", _Feedback(request_id, label, at, row)) for request_id, label, row in items]
        with self._lock:
            if self._closed or self._queued_feedback + len(records) > self.max_feedback_queue:
                return False
            before = self._queued
            self._queued += len(records)
            self._queued_feedback += len(records)
            self._queue.extend(records)
            if before < _ENCODE_SLICE <= self._queued:
                self._wake.set()
        return True

    @property
    def depth(self) -> int:
        """Records in the queue, not yet taken by the writer."""
        return self._queued

    @property
    def dropped(self) -> int:
        return self._dropped

    @property
    def write_errors(self) -> int:
        """Segments that could not be written."""
        return self._write_errors

    @property
    def written_rows(self) -> int:
        return self._written_rows

    # flushing and shutdown -------------------------------------------------------------------------

    def flush(self, timeout: float = 10.0) -> bool:
        """Write everything queued so far; False if that took longer than ``timeout`` seconds."""
        marker = _Marker()
        with self._lock:
            if self._closed:
                return not self._thread.is_alive()
            self._queue.append(marker)
        self._wake.set()
        return marker.done.wait(timeout)

    def close(self, timeout: float = 10.0) -> bool:
        """Write everything queued, then stop the writer; False if it is still writing after ``timeout`` seconds.

        Calling it again is harmless; appends after it are dropped and counted.
        """
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.append(_Marker(stop=True))
        self._wake.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # the writer thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        buffers = {"predictions": _Buffer(), "feedback": _Buffer()}
        while True:
            try:
                if self._pass(buffers):
                    return
            except Exception:  # a bug here must not end the log; what the pass held is lost
                log.exception("The prediction log of %s/%s failed; it goes on with the next records.", *self._names)

    def _pass(self, buffers: dict[str, _Buffer]) -> bool:
        """Take what the queue holds (waiting until a buffer is due), write the segments due; True to stop."""
        due = [b.since + self._segment_seconds for b in buffers.values() if not b.empty]
        if self._queued < _ENCODE_SLICE:  # returns at once when flush or close asked (or a slice is waiting)
            self._wake.wait(min(_POLL, max(0.0, min(due) - time.monotonic())) if due else _POLL)
        self._wake.clear()  # before taking: a record or marker put from here on is taken now or wakes the next pass
        markers: list[_Marker] = []
        items: list[tuple[str, Any]] = []
        popleft = self._queue.popleft
        while self._queue and len(items) < _DRAIN:
            item = popleft()
            if isinstance(item, _Marker):
                markers.append(item)
            else:
                items.append(item)
        counted = [(kind, payload, _rows(payload)) for kind, payload in items]
        feedback = sum(1 for kind, _payload, _n in counted if kind == "feedback")
        with self._lock:  # given back at once (one lock for the lot), so a slow write does not shrink the queue
            self._queued -= len(counted)
            self._queued_feedback -= feedback
            self._queued_rows -= sum(n for kind, _payload, n in counted if kind != "feedback")
        for kind, payload, rows in counted:
            buffer = buffers[kind]
            if buffer.empty:
                buffer.since = time.monotonic()
            buffer.records.append(payload)
            buffer.rows += rows
            if len(buffer.records) >= _ENCODE_SLICE:
                encoded = self._encode_slice(kind, buffer.records)
                buffer.encoded.extend(encoded)
                buffer.nbytes += sum(table.nbytes for table, _count in encoded)
                buffer.records = []
            if buffer.rows >= self._segment_rows or buffer.nbytes >= self._segment_bytes:
                self._write(kind, buffer)
        now = time.monotonic()
        for kind, buffer in buffers.items():
            if not buffer.empty and (markers or now - buffer.since >= self._segment_seconds):
                self._write(kind, buffer)
        for marker in markers:
            marker.done.set()
        return any(marker.stop for marker in markers)

    def _write(self, kind: str, buffer: _Buffer) -> None:
        """Write the buffer as one segment (or, if its records do not fit one table, one per group); never raises."""
        encoded = buffer.encoded + (self._encode_slice(kind, buffer.records) if buffer.records else [])
        buffer.records, buffer.encoded, buffer.rows, buffer.nbytes = [], [], 0, 0
        for table, count in _by_schema(encoded):
            try:
                self._store(kind, table)
            except Exception as exc:  # whatever the store raised, serving must go on
                with self._lock:
                    self._write_errors += 1
                    self._dropped += count
                log.warning(
                    "The prediction log of %s/%s could not write a segment of %d rows (%s: %s); they are dropped. "
                    "Check that the artifact store is writable and the metadata store reachable.",
                    *self._names,
                    table.num_rows,
                    type(exc).__name__,
                    exc,
                )
            else:
                with self._lock:
                    self._written_rows += table.num_rows

    def _encode_slice(self, kind: str, records: list[Any]) -> list[tuple[pa.Table, int]]:
        build = _prediction_table if kind == "predictions" else _feedback_table
        try:
            return [(build(records), len(records))]
        except Exception:  # one bad record spoils the batch: encode them one by one to keep the others
            pass
        groups: dict[str, list[pa.Table]] = {}
        for record in records:
            try:
                table = build([record])
            except Exception as exc:
                with self._lock:
                    self._dropped += 1
                log.warning(
                    "The prediction log of %s/%s dropped request %r: %s",
                    *self._names,
                    getattr(record, "request_id", None),
                    exc,
                )
                continue
            groups.setdefault(table.schema.to_string(), []).append(table)
        return [(pa.concat_tables(tables), len(tables)) for tables in groups.values()]

    def _store(self, kind: str, table: pa.Table) -> None:
        # Imported with the first segment, not with the server: Parquet's writer is 4 MB of a server's memory.
        import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

        blobs = self._backend.blobs
        with tempfile.TemporaryDirectory(dir=blobs.scratch_dir(), prefix="predictions-") as folder:
            path = Path(folder) / "segment.parquet"
            pq.write_table(
                table,
                path,
                compression="zstd",
                row_group_size=max(1, _ROW_GROUP_BYTES * table.num_rows // max(1, table.nbytes)),
                use_dictionary=[
                    f.name for f in table.schema if f.name != "request_id" and not pa.types.is_floating(f.type)
                ],
            )
            digest, _size = blobs.adopt_file(path)
        times = pc.min_max(table.column("at").cast(pa.int64()))
        versions = pc.unique(table.column("version")).to_pylist() if kind == "predictions" else []
        self._backend.predictions.add_segment(
            self.project,
            self.model,
            kind,
            blob_digest=digest,
            rows=table.num_rows,
            first_at=times["min"].as_py(),
            last_at=times["max"].as_py(),
            versions=[v for v in versions if v is not None],
        )

    @property
    def _names(self) -> tuple[str, str]:
        return self.project, self.model


def _by_schema(encoded: list[tuple[pa.Table, int]]) -> list[tuple[pa.Table, int]]:
    """One table (and record count) per schema among the encoded slices; concatenating copies nothing."""
    groups: dict[str, tuple[list[pa.Table], int]] = {}
    for table, count in encoded:
        tables, total = groups.get(table.schema.to_string(), ([], 0))
        groups[table.schema.to_string()] = ([*tables, table], total + count)
    return [(pa.concat_tables(tables), count) for tables, count in groups.values()]


def _rows(payload: Any) -> int:
    try:
        return len(payload.outputs) if isinstance(payload, PredictionRecord) else 1
    except TypeError:
        return 1


# encoding ------------------------------------------------------------------------------------------


def _prediction_table(records: Sequence[PredictionRecord]) -> pa.Table:
    """The log rows of ``records``, built a column at a time (a request's own fields repeated over its rows)."""
    outputs = [_as_list(record.outputs) for record in records]
    counts = [len(values) for values in outputs]
    # Requests of one row each (what a server mostly logs): a request's fields are its row's, nothing repeated.
    single = counts.count(1) == len(counts)
    if single:
        ids: Iterable[str] = [r.request_id for r in records]
        row_numbers: Iterable[int] = repeat(0, len(records))
        predicted = [value for (value,) in outputs]
    else:
        ids = chain.from_iterable(repeat(r.request_id, n) for r, n in zip(records, counts, strict=True))
        row_numbers = chain.from_iterable(map(range, counts))
        predicted = list(chain.from_iterable(outputs))
    table = pa.table(
        {
            "request_id": pa.array(list(ids), pa.large_string()),
            "row": pa.array(list(row_numbers), pa.int64()),
            "at": pa.array(_repeated([r.at_ms for r in records], counts, single), _AT),
            "version": pa.array(_repeated([r.version for r in records], counts, single), pa.int64()),
            "role": pa.array(_repeated([r.role for r in records], counts, single), pa.large_string()),
            "latency_ms": pa.array(_repeated([r.latency_ms for r in records], counts, single), pa.float64()),
            "prediction": _values(predicted),
        }
    )
    if any(record.scores is not None for record in records):
        scores = chain.from_iterable(
            repeat(None, n) if r.scores is None else r.scores for r, n in zip(records, counts, strict=True)
        )
        table = table.append_column("score", pa.array(list(scores), pa.float64()))
    keys = [tuple(record.inputs) for record in records]
    by_column: Iterable[Sequence[Any]]
    if keys and keys.count(keys[0]) == len(keys):  # the same columns in the same order: served requests
        names: Iterable[str] = keys[0]
        by_column = zip(*[tuple(record.inputs.values()) for record in records], strict=True)
    else:
        names = dict.fromkeys(chain.from_iterable(keys))
        by_column = ([record.inputs.get(name) for record in records] for name in names)
    inputs = {}
    for name, given in zip(names, by_column, strict=False):
        column = _single_values(given) if single else None
        if column is None:
            parts = given
            if set(map(type, parts)) != {list} or list(map(len, parts)) != counts:  # lacking, an array, a misfit
                parts = [_filled(name, part, n) for part, n in zip(given, counts, strict=True)]
            column = list(chain.from_iterable(parts))
        inputs[INPUT_PREFIX + name if name in _RESERVED else name] = _scalars(column)
    if not inputs:
        return table
    given = as_arrow(inputs, keep_null_columns=True)
    for name, column in zip(given.column_names, given.columns, strict=True):
        table = table.append_column(name, column)
    return table


def _repeated(values: list[Any], counts: list[int], single: bool) -> list[Any]:
    if single:
        return values
    return list(chain.from_iterable(repeat(value, n) for value, n in zip(values, counts, strict=True)))


def _single_values(parts: Sequence[Any]) -> list[Any] | None:
    """The values of one input column when each request gave it as a list of one value; else None."""
    if set(map(type, parts)) != {list}:
        return None
    try:
        return [value for (value,) in parts]
    except ValueError:  # a request gave more or fewer values than its one prediction
        return None


def _filled(name: str, values: Sequence[Any] | None, n: int) -> Sequence[Any]:
    """A request's values of one input column: nulls if it has none; refused if they do not match its rows."""
    if values is None:
        return [None] * n
    values = _as_list(values)
    if len(values) != n:
        raise InvalidInput(f"the input column {name!r} has {len(values)} values for {n} predictions")
    return values


def _feedback_table(records: Sequence[_Feedback]) -> pa.Table:
    return pa.table(
        {
            "request_id": pa.array([r.request_id for r in records], pa.large_string()),
            "at": pa.array([r.at_ms for r in records], _AT),
            "label": _values([r.label for r in records]),
            "row": pa.array([r.row for r in records], pa.int64()),
        }
    )


def _as_list(values: Any) -> list[Any]:
    if isinstance(values, list):
        return values
    if hasattr(values, "tolist"):  # numpy and pyarrow arrays
        return list(values.tolist())
    return list(values)


def _values(values: list[Any]) -> pa.Array:
    """float64 if every value is a number (or boolean, or missing); else text, with non-strings as JSON."""
    kinds = set(map(type, values))
    if kinds <= _PLAIN_NUMBERS:
        with contextlib.suppress(pa.ArrowInvalid):  # an int too large for a double converts below
            return pa.array(values, pa.float64())
    if all(issubclass(kind, numbers.Real) or kind is type(None) for kind in kinds):
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    return pa.array([v if v is None or isinstance(v, str) else _json(v) for v in values], pa.large_string())


def _scalars(values: list[Any]) -> list[Any]:
    """An input column as it is, or as JSON text if any value is nested (a list, a dict)."""
    if any(issubclass(kind, list | tuple | dict) for kind in set(map(type, values))):
        return [None if v is None else _json(v) for v in values]
    return values


def _json(value: Any) -> str:
    return json.dumps(value, default=_jsonable)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# reading -------------------------------------------------------------------------------------------
