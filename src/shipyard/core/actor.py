"""Who is acting, for the audit log, and whether the act may set the gate aside.

Embedded, the actor is the operating-system user. A server acts for the caller of each request:
``acting_as(name)`` makes ``current_actor()`` answer that name in this context (a thread, an asyncio task,
or a gate worker process). ``granting_override()`` marks a context in which the server has checked that
the caller holds the admin role, so the store may let an override through (``override_granted``); it is
never set from an argument, a file or a client's environment.
"""

from __future__ import annotations

import contextvars
import getpass
from collections.abc import Iterator
from contextlib import contextmanager

_acting: contextvars.ContextVar[str | None] = contextvars.ContextVar("shipyard_actor", default=None)
_override: contextvars.ContextVar[bool] = contextvars.ContextVar("shipyard_override_granted", default=False)


def current_actor() -> str:
    acting = _acting.get()
    if acting is not None:
        return acting
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers): still say something true
        return "unknown"


@contextmanager
def acting_as(name: str) -> Iterator[None]:
    """Within the block, ``current_actor()`` is ``name`` (the caller a server acts for)."""
    token = _acting.set(name)
    try:
        yield
    finally:
        _acting.reset(token)


@contextmanager
def granting_override() -> Iterator[None]:
    """Within the block, the store lets an override with a reason through (a server, for an admin caller)."""
    token = _override.set(True)
    try:
        yield
    finally:
        _override.reset(token)


def override_granted() -> bool:
    """Whether this context was granted the override privilege by a server that checked the admin role."""
    return _override.get()
