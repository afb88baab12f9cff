"""A server process of ``shipyard serve``: uvicorn's app factory, which reads the command's options from the
environment (uvicorn starts its worker processes with the factory's dotted name only).

The factory lives here rather than beside the command so that a worker process imports the server and not
the command line (Typer, the other commands). It also settles what only the process that serves may
settle, for its whole life: the Arrow memory pool (see ``app_from_environment``).
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipyard.serving.app import ServingApp

OPTIONS_VARIABLE = "SHIPYARD_SERVE_OPTIONS"
"""Carries the options to the server processes (internal plumbing between the command and the processes it
starts; not a user setting)."""


def options_value(options: dict[str, Any], settings: dict[str, Any]) -> str:
    """What ``shipyard serve`` puts in ``OPTIONS_VARIABLE``: ``ServeOptions`` as a dict, and the store."""
    return json.dumps({"options": options, "settings": settings})


def app_from_environment() -> ServingApp:
    """uvicorn's factory, in each server process: open the store and build the app from the command's options.

    Arrow allocates from the system allocator here instead of its default (mimalloc), which reserves
    several MB on first use and keeps what it freed; a server allocates Arrow memory for a probe at load
    and then only in the prediction log's writer, where speed does not matter.
    """
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

    from shipyard.serving.app import create_app
    from shipyard.serving.deployment import ServeOptions
    from shipyard.tracking import Client

    pa.set_memory_pool(pa.system_memory_pool())
    given = json.loads(os.environ[OPTIONS_VARIABLE])
    settings = given["settings"]
    client = Client(settings["uri"], artifacts=settings["artifacts"], cwd=settings["cwd"])
    return create_app(client, ServeOptions(**given["options"]))
