"""Paths of artifacts inside a run.

A run stores each artifact under a path such as ``plots/roc.png``. Those paths are later joined onto a
download directory, so a path that could escape that directory (``../x``, ``/etc/passwd``) or that means
different things on different systems (``a\\b``, ``C:x``) is refused when it is logged, not when it is used;
so is a path too long to download onto common filesystems (see :data:`MAX_PATH_CHARS`, :data:`MAX_NAME_BYTES`).
"""

from __future__ import annotations

import re
from typing import NoReturn
from urllib.parse import unquote

from shipyard.core.errors import InvalidInput

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# "C:x" is relative on POSIX but names another drive on Windows, so it counts as absolute here.
_DRIVE = re.compile(r"^[A-Za-z]:")
_EXAMPLE = "Artifact paths are relative POSIX paths inside the run, such as 'plots/roc.png'."
MAX_PATH_CHARS = 1024
"""The longest artifact path, in characters (after canonical form), leaving room for the download folder."""
MAX_NAME_BYTES = 255
"""The longest folder or file name in an artifact path, in UTF-8 bytes: what ext4, XFS and most filesystems allow."""


def check_artifact_path(path: str) -> str:
    """Return ``path`` in canonical form, or raise :class:`InvalidInput` naming the rule it breaks.

    Empty and ``.`` segments are dropped, so ``'./a//b/'`` becomes ``'a/b'``. Refused: empty paths,
    absolute paths, ``..`` segments (also percent-encoded), backslashes, NUL and other control characters, paths
    longer than 1,024 characters and folder or file names longer than 255 bytes.

    >>> check_artifact_path("./plots//roc.png")
    'plots/roc.png'
    """
    if not isinstance(path, str):
        raise InvalidInput(f"An artifact path must be a string; got {type(path).__name__} {path!r}. {_EXAMPLE}")
    if control := _CONTROL.search(path):
        _reject(path, f"contains the control character {control.group()!r} at position {control.start()}")
    if "\\" in path:
        _reject(path, "contains a backslash; use '/' to separate folders")
    if path.startswith("/") or _DRIVE.match(path):
        _reject(path, "is absolute; give the path relative to the run's artifact folder")
    segments = path.split("/")
    if ".." in segments:
        _reject(path, "contains a '..' segment, which could point outside the run")
    if any(unquote(s) in (".", "..") for s in segments if "%" in s):
        _reject(path, "has a percent-encoded '.' or '..' segment, which a URL would decode into one")
    canonical = "/".join(s for s in segments if s not in ("", "."))
    if not canonical:
        _reject(path, "names no file")
    if len(canonical) > MAX_PATH_CHARS:
        _reject(path, f"is {len(canonical):,} characters long; the limit is {MAX_PATH_CHARS:,}")
    for name in canonical.split("/"):
        if (size := len(name.encode("utf-8", "surrogatepass"))) > MAX_NAME_BYTES:
            _reject(path, f"has a name of {size} bytes ({_short(name)}); names are limited to {MAX_NAME_BYTES} bytes")
    return canonical


def _reject(path: str, problem: str) -> NoReturn:
    raise InvalidInput(f"The artifact path {_short(path)} {problem}. {_EXAMPLE}")


def _short(text: str, limit: int = 80) -> str:
    """``text`` quoted, its middle cut out when long, so that a message stays readable."""
    return repr(text) if len(text) <= limit else f"{text[: limit // 2]!r}…{text[-limit // 4 :]!r}"
