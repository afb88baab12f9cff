"""The server's metrics: answers counted in batches show exactly as if each had been observed alone."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from shipyard.serving.metrics import FLUSH_EVERY, LATENCY_BUCKETS, ServerMetrics, _observe_all

# On a bucket's bound (le: counted in it), between bounds, past the last bound, zero.
VALUES = [0.0005, 0.0007, 0.001, 0.0031, 2.5, 7.0, 0.0, 0.0007]


def test_batched_observations_fill_the_buckets_as_observe_does() -> None:
    one_by_one, batched = CollectorRegistry(), CollectorRegistry()
    expected = Histogram("h", "h", buckets=LATENCY_BUCKETS, registry=one_by_one)
    got = Histogram("h", "h", buckets=LATENCY_BUCKETS, registry=batched)
    for value in VALUES:
        expected.observe(value)
    _observe_all(got, VALUES)
    assert samples(batched) == samples(one_by_one)


def samples(registry: CollectorRegistry) -> list[str]:
    return [line for line in generate_latest(registry).decode().splitlines() if "_created" not in line]


def test_render_counts_every_answer_noted_and_by_role() -> None:
    metrics = ServerMetrics()
    for i in range(FLUSH_EVERY + 3):  # one flush on the way, three answers still noted when rendering
        metrics.answered("canary" if i % 2 else "champion", 0.001)
    text = metrics.render().decode()
    assert f'shipyard_requests_total{{route="/predict",status="200"}} {FLUSH_EVERY + 3}.0' in text
    assert f'shipyard_request_latency_seconds_count{{role="champion"}} {(FLUSH_EVERY + 3 + 1) // 2}.0' in text
    assert f'shipyard_request_latency_seconds_bucket{{le="0.001",role="canary"}} {(FLUSH_EVERY + 3) // 2}.0' in text
