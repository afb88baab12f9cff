"""References to versions: ``name``, ``name@3``, ``name@champion``, ``name@latest``.

Alias names are lower-case letters, digits, ``-`` and ``_``, start with a letter, at most 64
characters, and are not ``latest`` (which always means the newest version). Versions are numbered from 1 up to
``MAX_VERSION``, the largest integer the metadata store's version columns hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipyard.core.errors import InvalidInput
from shipyard.core.validation import check_name

_ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_NUMBER = re.compile(r"[0-9]+")
LATEST = "latest"
MAX_VERSION = 2**63 - 1
"""The largest version number: a signed 64-bit integer, as SQLite and PostgreSQL store it."""


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
    if _NUMBER.fullmatch(selector):
        return Ref(name, version=_version_number(selector, text, what))
    if selector.isdigit():  # other digits, such as "²" or "٣": int() refuses the one and reads the other as 3
        raise InvalidInput(f"A {what} version is written with the digits 0-9; got {_cut(text)!r}. Example: {name}@3.")
    return Ref(name, alias=check_alias(selector))


def _version_number(digits: str, text: str, what: str) -> int:
    significant = digits.lstrip("0")
    # The length check first: int() of a very long string is slow, and refused past 4,300 digits.
    if not significant or len(significant) > len(str(MAX_VERSION)) or int(significant) > MAX_VERSION:
        raise InvalidInput(f"A {what} version is a number from 1 to {MAX_VERSION}; got {_cut(text)!r}.")
    return int(significant)


def _cut(text: str, limit: int = 60) -> str:
    """``text`` as given, shortened to ``limit`` characters so that a message stays one readable line."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def check_alias(alias: object) -> str:
    if not isinstance(alias, str) or not _ALIAS.match(alias) or alias == LATEST:
        raise InvalidInput(
            f"An alias is 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter, and not "
            f"'{LATEST}'; got {alias!r}. Examples: champion, challenger, prod-eu."
        )
    return alias


def check_version(version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
        raise InvalidInput(f"A version is an integer from 1 to {MAX_VERSION}; got {version!r}.")
    return version
