"""Backends: what domain services call. ``open_backend`` picks one from the settings' URI.

Domain code is typed against :class:`Backend` (``shipyard.backends.protocol``), never a concrete backend.
Importing this package loads no database driver: the local backend is imported when one is opened.
"""

from __future__ import annotations

from shipyard.backends.protocol import Backend
from shipyard.core.config import Settings

__all__ = ["Backend", "open_backend"]


def open_backend(settings: Settings, *, auto_upgrade: bool | None = None) -> Backend:
    """The backend the settings' URI names: a folder, ``sqlite:///…`` or ``postgresql+psycopg://…`` (local)."""
    from shipyard.backends.local import open_local

    return open_local(settings, auto_upgrade=auto_upgrade)
