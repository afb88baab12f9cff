"""The gate policy as the registry needs it: which aliases are protected, and the policy's digest.

Both come from ``[gate]`` in ``shipyard.toml``. The registry reads them itself, below every client, so
that "a passing verdict under the *current* policy" is decided where the alias is written. The digest
is over the table's parsed content (``core.config.table_digest``); ``shipyard.gates.policy`` computes
the same digest for the verdicts it writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shipyard.core.config import CONFIG_FILE, project_table, table_digest
from shipyard.core.errors import InvalidInput
from shipyard.core.refs import check_alias

DEFAULT_PROTECTED = ("champion",)


@dataclass(frozen=True)
class CurrentPolicy:
    protected_aliases: frozenset[str]
    digest: str


def current_policy(root: Path) -> CurrentPolicy:
    table = project_table(root, "gate")
    value = table.get("protected_aliases", list(DEFAULT_PROTECTED))
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidInput(
            f"{root / CONFIG_FILE}: [gate] protected_aliases must be a list of alias names, such as "
            f'["champion"]; got {value!r}.'
        )
    return CurrentPolicy(frozenset(check_alias(item) for item in value), table_digest(table))


def protected_aliases(root: Path) -> frozenset[str]:
    return current_policy(root).protected_aliases
