"""The index of prediction-log segments on both stores: windows, projects, and garbage collection."""

from __future__ import annotations

import pytest

import shipyard as sy


def add(client: sy.Client, first_at: int, last_at: int, *, kind: str = "predictions", data: bytes = b"") -> str:
    digest, _size = client.backend.blobs.put_bytes(data or f"segment {first_at}".encode())
    client.backend.predictions.add_segment(
        "p", "churn", kind, blob_digest=digest, rows=10, first_at=first_at, last_at=last_at, versions=[2, 1, 2]
    )
    return digest


def test_a_window_reads_only_the_segments_that_overlap_it(client: sy.Client) -> None:
    for first_at in (0, 100, 200):
        add(client, first_at, first_at + 99)
    add(client, 150, 160, kind="feedback")
    segments = client.backend.predictions.segments
    assert [s.first_at for s in segments("p", "churn", "predictions", since_ms=150)] == [100, 200]
    assert [s.first_at for s in segments("p", "churn", "predictions", since_ms=150, until_ms=200)] == [100]
    assert [s.first_at for s in segments("p", "churn", "feedback")] == [150]
    assert segments("p", "other", "predictions") == []
    assert segments("p", "churn", "predictions")[0].versions == (1, 2)


def test_an_unknown_project_or_kind_is_refused(client: sy.Client) -> None:
    add(client, 0, 1)
    with pytest.raises(sy.NotFound, match="Known projects: p;"):
        client.backend.predictions.segments("q", "churn", "predictions")
    with pytest.raises(sy.InvalidInput, match="predictions, feedback"):
        client.backend.predictions.segments("p", "churn", "labels")


def test_gc_keeps_the_blobs_of_indexed_segments(client: sy.Client) -> None:
    kept = add(client, 0, 1)
    orphan, _size = client.backend.blobs.put_bytes(b"a segment whose index row was never written")
    report = client.gc(grace=0)
    assert report.removed == [orphan]
    assert client.backend.blobs.exists(kept)
