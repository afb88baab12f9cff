"""Artifacts: the content-addressed blob store, and the rules for artifact paths inside a run.

>>> from shipyard.artifacts import open_blob_store
>>> store = open_blob_store("/srv/shipyard/artifacts")  # or "file:///…", "s3://bucket/prefix", "memory://name"
"""

from shipyard.artifacts.blobstore import BlobStore, open_blob_store
from shipyard.artifacts.paths import check_artifact_path
from shipyard.core.entities_storage import GcReport

__all__ = ["BlobStore", "GcReport", "check_artifact_path", "open_blob_store"]
