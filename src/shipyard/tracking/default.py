"""The process's default client: the one ``sy.start_run``, ``sy.datasets`` … and ``Pipeline.run()`` use.

It is made on first use from ``SHIPYARD_URI`` / ``shipyard.toml`` / ``./.shipyard``. ``shipyard.init(uri)``
replaces it, and so does a pipeline's worker process with the pipeline's client, so that ``sy.*`` inside a
step uses the pipeline's store. It lives here, beside ``Client``, so that the layers below the facade reach
it without importing ``shipyard`` itself.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shipyard.tracking.client import Client

_default: Client | None = None
_lock = threading.Lock()


def default_client() -> Client:
    """The default client, made from the settings (environment, ``shipyard.toml``, defaults) on first use."""
    global _default
    with _lock:
        if _default is None:
            from shipyard.tracking.client import Client

            _default = Client()
        return _default


def set_default_client(client: Client) -> None:
    """Make ``client`` the default client of this process (``shipyard.init`` and pipeline workers call this)."""
    global _default
    with _lock:
        _default = client


__all__ = ["default_client", "set_default_client"]
