"""Shipyard: track, version, gate, serve, monitor and retrain models in one loop."""

__version__ = "0.1.0"
