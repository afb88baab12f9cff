"""References to versions: ``name``, ``name@3``, ``name@champion``, ``name@latest``.

Alias names are lower-case letters, digits, ``-`` and ``_``, start with a letter, at most 64
characters, and are not ``latest`` (which always means the newest version).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipyard.core.errors import InvalidInput
from shipyard.core.validation import check_name

_ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
LATEST = "latest"


@dataclass(frozen=True, slots=True)
class Ref:
    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}@{self.version}"
        return f"{self.name}@{self.alias or LATEST}"


def parse_ref(text: str, what: str = "model") -> Ref:
    """``churn`` → latest; ``churn@3`` → version 3; ``churn@champion`` → the alias."""
    if not isinstance(text, str) or not text:
        raise InvalidInput(f"A {what} reference looks like NAME, NAME@VERSION or NAME@ALIAS; got {text!r}.")
    name, at, selector = text.partition("@")
    check_name(name, what)
    if not at or selector == LATEST:
        return Ref(name)
    if selector.isdigit():
        version = int(selector)
        if version < 1:
            raise InvalidInput(f"Versions are numbered from 1; got {text!r}.")
        return Ref(name, version=version)
    return Ref(name, alias=check_alias(selector))


def check_alias(alias: object) -> str:
    if not isinstance(alias, str) or not _ALIAS.match(alias) or alias == LATEST:
        raise InvalidInput(
            f"An alias is 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter, and not "
            f"'{LATEST}'; got {alias!r}. Examples: champion, challenger, prod-eu."
        )
    return alias


def check_version(version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInput(f"A version is a positive integer; got {version!r}.")
    return version
