"""Experiment tracking: runs, params, metrics, tags, artifacts, search."""

from shipyard.tracking.client import Client, active_run
from shipyard.tracking.run import Run

__all__ = ["Client", "Run", "active_run"]
