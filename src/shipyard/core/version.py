"""Shipyard's version: stamped on every verdict and printed by ``shipyard --version``.

It lives here, at the bottom, so that any layer can read it; the facade re-exports it as ``shipyard.__version__``.
"""

__version__ = "0.1.0"
