"""Backends: what domain services call. ``open_backend`` picks one from the settings' URI."""

from shipyard.backends.local import LocalBackend, open_backend

__all__ = ["LocalBackend", "open_backend"]
