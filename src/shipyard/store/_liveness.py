"""Is the process that owns a running run still alive? Used to show ``crashed`` at once on this host."""

from __future__ import annotations

import os
import socket
from functools import cache


@cache
def hostname() -> str:
    return socket.gethostname()


def process_alive(host: str, pid: int) -> bool:
    """False only when we can tell for sure: same host, and the pid is gone or a zombie."""
    if host != hostname() or pid <= 0:
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            # The state letter follows the parenthesised command name, which may itself hold spaces.
            state = fh.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True
