"""``shipyard server``: the team server, a thin HTTP skin over a local backend (``create_app``)."""
