"""The model registry: versions, aliases (protected ones need the gate), lineage, and the audit log."""

from shipyard.registry.lineage import DatasetLineage, ModelLineage
from shipyard.registry.service import Models

__all__ = ["DatasetLineage", "ModelLineage", "Models"]
