"""Prometheus metrics of one server, in a registry of its own (``GET /metrics``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


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

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return bytes(generate_latest(self.registry))
