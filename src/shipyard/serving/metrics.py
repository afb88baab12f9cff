"""Prometheus metrics of one server, in a registry of its own (``GET /metrics``).

Answered predictions are counted in batches: ``answered`` notes the role and latency of each in a list,
and every ``FLUSH_EVERY`` of them (and before each ``render``) they go into the request counter and the
latency histogram at once, a bucket count at a time; Prometheus's own ``observe`` takes two locks and
walks the buckets for each request (a few microseconds of the one core a server has). What ``/metrics``
shows is therefore always complete. Both are called on the event loop only, so the list needs no lock.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter as Tally
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
FLUSH_EVERY = 256
"""Answered predictions noted before they are added to the metrics (``render`` adds what is noted first)."""


class ServerMetrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry: CollectorRegistry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "shipyard_requests", "Requests answered, by route and HTTP status.", ["route", "status"], registry=r
        )
        self.latency = Histogram(
            "shipyard_request_latency_seconds",
            "Time from a predict request's arrival to its answer.",
            ["role"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_rows = Histogram(
            "shipyard_batch_rows", "Rows per call to the model (micro-batches).", buckets=BATCH_BUCKETS, registry=r
        )
        self.model_version = Gauge(
            "shipyard_model_version", "The version served in each role.", ["model", "role"], registry=r
        )
        self.gate_passed = Gauge(
            "shipyard_gate_passed",
            "1 when the champion is served under a protected alias and holds a passing verdict under the "
            "policy in force (checked at load and at every swap), else 0.",
            registry=r,
        )
        self.model_errors = Counter("shipyard_model_errors", "Requests the model raised on.", ["role"], registry=r)
        self.shadow_errors = Counter("shipyard_shadow_errors", "Shadow predictions that failed.", registry=r)
        self.swaps = Counter("shipyard_model_swaps", "Hot swaps to a newly aliased version.", ["role"], registry=r)
        self.log_depth = Gauge("shipyard_prediction_log_queue_depth", "Prediction-log records waiting.", registry=r)
        self.log_dropped = Gauge(
            "shipyard_prediction_log_dropped",
            "Prediction-log records dropped (queue full or write failed).",
            registry=r,
        )
        self.log_write_errors = Gauge(
            "shipyard_prediction_log_write_errors", "Prediction-log segments that failed to write.", registry=r
        )
        self.feedback_unknown = Counter(
            "shipyard_feedback_unknown", "Feedback for a request id this server never answered.", registry=r
        )

        self._answered: list[tuple[str, float]] = []
        self._ok = self.requests.labels("/predict", "200")

    def answered(self, role: str, seconds: float) -> None:
        """One ``/predict`` answered with 200 in ``role`` after ``seconds``: counted with the next flush."""
        self._answered.append((role, seconds))
        if len(self._answered) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        """Add the answers noted since the last flush to the request counter and the latency histogram."""
        noted, self._answered = self._answered, []
        if not noted:
            return
        self._ok.inc(len(noted))
        by_role: dict[str, list[float]] = {}
        for role, seconds in noted:
            by_role.setdefault(role, []).append(seconds)
        for role, values in by_role.items():
            _observe_all(self.latency.labels(role), values)

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        self.flush()
        return bytes(generate_latest(self.registry))


def _observe_all(histogram: Any, values: list[float]) -> None:
    """``histogram.observe(v)`` for each of ``values``, one increment per bucket (Prometheus's ``le`` rule)."""
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None:  # another prometheus_client: its public way
        for value in values:
            histogram.observe(value)
        return
    for index, count in Tally(bisect_left(bounds, value) for value in values).items():
        buckets[index].inc(count)
    total.inc(sum(values))
