"""Backends: what domain services call. ``open_backend`` picks one from the settings' URI.

Domain code is typed against :class:`Backend` (``shipyard.backends.protocol``), never a concrete backend.
Importing this package loads no database driver: the local backend is imported when one is opened.
"""

from __future__ import annotations

from shipyard.backends.protocol import Backend
from shipyard.core.config import Settings
from shipyard.core.errors import MissingDependency

__all__ = ["Backend", "open_backend"]


def open_backend(settings: Settings, *, auto_upgrade: bool | None = None) -> Backend:
    """The backend the settings' URI names: ``http(s)://`` a server (``HttpBackend``, with ``settings.token``);
    a folder, ``sqlite:///…`` or ``postgresql+psycopg://…`` a local one."""
    if settings.uri.split("://", 1)[0].lower() in ("http", "https"):
        try:
            from shipyard.client.http import open_http
        except ImportError as missing:
            raise MissingDependency.for_extra(
                missing.name or "httpx2", "client", "Talking to a Shipyard server"
            ) from None

        return open_http(settings.uri, settings.token or None)
    from shipyard.backends.local import open_local

    return open_local(settings, auto_upgrade=auto_upgrade)
