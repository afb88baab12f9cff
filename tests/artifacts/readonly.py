"""Make a folder tree read-only for a test, also for root (who ignores permission bits): chmod, or chattr +i."""

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Nothing can be created, changed or removed in ``folder`` or below it inside the block."""
    if os.geteuid() != 0:
        modes = {path: path.stat().st_mode for path in [folder, *folder.rglob("*")]}
        for path, mode in modes.items():
            path.chmod(mode & 0o555)
        try:
            yield
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "-R", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("running as root where `chattr +i` is unavailable: cannot make a folder read-only")
    try:
        yield
    finally:
        subprocess.run([chattr, "-R", "-i", str(folder)], check=True)
