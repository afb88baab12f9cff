"""The project's gate policy as written in ``shipyard.toml``, for its first, implicit application.

The policy *in force* lives in the metadata store (``store/policies.py``) and is what every decision
reads. The file is only where a policy is written and reviewed; the registry reads it here solely to
apply a project's first policy when none is in force yet, after checking the shape the store relies on
(the gate's own validation of every check runs when the gate evaluates).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.core.config import CONFIG_FILE, read_table
from shipyard.core.errors import InvalidInput
from shipyard.core.refs import check_alias


def local_gate_table(root: Path) -> dict[str, Any] | None:
    """``[gate]`` of ``root/shipyard.toml``; None when there is no such file or table."""
    path = root / CONFIG_FILE
    table = read_table(path, "gate")
    if not table:
        return None
    protected = table.get("protected_aliases", ["champion"])
    if not isinstance(protected, list) or not all(isinstance(item, str) for item in protected):
        raise InvalidInput(
            f'{path}: [gate] protected_aliases must be a list of alias names, such as ["champion"]; got {protected!r}.'
        )
    for alias in protected:
        check_alias(alias)
    checks = table.get("checks", [])
    if not isinstance(checks, list) or not all(isinstance(c, dict) and isinstance(c.get("kind"), str) for c in checks):
        raise InvalidInput(f'{path}: [gate] checks must be [[gate.checks]] tables, each with kind = "…".')
    return table
