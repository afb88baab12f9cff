"""Helpers shared by the CLI tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from typer.testing import Result

import shipyard

Invoke = Callable[..., Result]


def log_run(client: shipyard.Client, name: str, params: dict[str, Any], metrics: dict[str, float]) -> str:
    with client.start_run(project="churn", name=name) as run:
        run.log_params(params)
        run.log_metrics(metrics)
    return run.id


def strict_json(text: str) -> Any:
    """Parse as JSON proper: NaN and Infinity tokens, which Python's parser accepts, are refused."""

    def refuse(token: str) -> None:
        raise ValueError(f"{token} is not JSON")

    return json.loads(text, parse_constant=refuse)
