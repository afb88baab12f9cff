"""Which aliases are protected: ``[gate] protected_aliases`` in ``shipyard.toml``, ``["champion"]`` by default."""

from __future__ import annotations

from pathlib import Path

from shipyard.core.config import CONFIG_FILE, project_table
from shipyard.core.errors import InvalidInput
from shipyard.core.refs import check_alias

DEFAULT_PROTECTED = ("champion",)


def protected_aliases(root: Path) -> frozenset[str]:
    value = project_table(root, "gate").get("protected_aliases", list(DEFAULT_PROTECTED))
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidInput(
            f"{root / CONFIG_FILE}: [gate] protected_aliases must be a list of alias names, such as "
            f'["champion"]; got {value!r}.'
        )
    return frozenset(check_alias(item) for item in value)
