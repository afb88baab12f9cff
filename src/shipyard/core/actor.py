"""Who is acting, for the audit log: the operating-system user until the server adds accounts."""

from __future__ import annotations

import getpass


def current_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers): still say something true
        return "unknown"
