"""The local files a folder artifact is made of: everything below the folder, and nothing outside it.

A folder logged as an artifact goes into a store other people read. A symbolic link inside it that leads
elsewhere (``key.pem -> ~/.ssh/id_rsa``) would carry that file along unnoticed, so such a link is refused,
whether it names a file or a folder; links that stay inside the folder are followed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

from shipyard.core.errors import InvalidInput


def folder_files(folder: str | os.PathLike[str]) -> list[tuple[Path, str]]:
    """Every regular file below ``folder``: ``(local path, path relative to the folder with '/')``, sorted.

    Raises :class:`InvalidInput` naming the link and its target for a symbolic link that resolves outside
    the folder, to nothing, or to a folder that contains the link (which would repeat forever). Sockets,
    FIFOs and devices are left out.
    """
    top = Path(folder)
    root = top.resolve()
    found: list[tuple[Path, str]] = []
    _visit(top, "", root, frozenset({root}), found)
    return sorted(found, key=lambda pair: pair[1])


def _visit(directory: Path, prefix: str, root: Path, ancestors: frozenset[Path], found: list[tuple[Path, str]]) -> None:
    with os.scandir(directory) as entries:
        listed = list(entries)
    for entry in listed:
        path, relative = Path(entry.path), prefix + entry.name
        if entry.is_symlink():
            target = Path(os.path.realpath(path))
            if not target.is_relative_to(root):
                _refuse(root, relative, path, target, "outside the folder. Copy what it points to into the folder")
            if target in ancestors:
                _refuse(root, relative, path, target, "a folder that contains the link, so it would repeat forever")
            if target.is_dir():
                _visit(path, relative + "/", root, ancestors | {target}, found)
            elif target.is_file():
                found.append((path, relative))
            elif not target.exists():
                _refuse(root, relative, path, target, "which does not exist. Remove the link or fix its target")
        elif entry.is_dir(follow_symlinks=False):
            _visit(path, relative + "/", root, ancestors | {Path(entry.path).resolve()}, found)
        elif entry.is_file(follow_symlinks=False):
            found.append((path, relative))


def _refuse(root: Path, relative: str, link: Path, target: Path, problem: str) -> NoReturn:
    raise InvalidInput(
        f"Cannot log the folder {root} as an artifact: {relative!r} is a symbolic link to {str(target)!r}, "
        f"{problem}. Links are followed only while they stay inside the folder; nothing was stored."
    )
