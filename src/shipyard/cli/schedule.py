"""``shipyard pipeline schedule|schedules|unschedule`` and ``shipyard scheduler``."""

from __future__ import annotations

import typer


def register(pipeline_app: typer.Typer, root_app: typer.Typer) -> None:
    """Add the schedule commands to ``shipyard pipeline`` and ``shipyard scheduler`` to the root app."""
