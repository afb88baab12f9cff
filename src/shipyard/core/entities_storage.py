"""Records of the stores that cross the backend seam: rows written in bulk, and what blob gc did."""

from __future__ import annotations

from dataclasses import dataclass, field

MetricRow = tuple[str, float, int, int]
"""One metric point as written in bulk: key, value, step, timestamp (ms)."""
FileRow = tuple[str, str, int]
"""One file of a model package: path, digest, size."""


@dataclass
class GcReport:
    """What a blob store's ``gc`` removed, or on a dry run would remove."""

    removed: list[str] = field(default_factory=list)
    """Digests of the blobs removed."""
    freed_bytes: int = 0
    """Bytes freed: removed blobs of a local store, stale temporary files, and emptied trash."""
    kept: int = 0
    """Number of blobs kept."""
    purged_runs: list[str] = field(default_factory=list)
    """Ids of deleted runs removed for good before the blobs were collected (filled by the tracking client)."""
    trashed_bytes: int = 0
    """Bytes of removed blobs an object store keeps in its trash until a gc a grace period later."""
    restored: list[str] = field(default_factory=list)
    """Digests brought back from an object store's trash because something refers to them again."""
