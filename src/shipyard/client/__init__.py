"""The HTTP backend: the backend seam spoken to ``shipyard server`` (``SHIPYARD_URI=http://…``)."""
