"""Idempotency keys: a write a server did is answered again on a retry, never done twice.

A client sends every write with an ``Idempotency-Key``, the same on each retry. ``begin`` claims the key for
its user in one insert (the primary key makes two replicas' claims exclusive): the first request of a key
goes ahead and ``finish`` keeps its answer; a retry with the same request gets that answer back; a retry
while the first one still runs is told to try again (``Conflict``); the same key with another request is a
client's mistake (``InvalidInput``). A request that failed is ``abandon``-ed, so its retry may succeed.

Keys are kept for a day (``TTL_MS``) and pruned now and then by ``begin``. A claim whose request has not
answered within ``LEASE_MS`` (its server died) is taken over by the next retry.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from shipyard.core.errors import Conflict, InvalidInput
from shipyard.store import _engine
from shipyard.store._base import StoreBase, now_ms, unreachable_is_store_error
from shipyard.store.schema import idempotency_keys as keys

TTL_MS = 24 * 3600_000
"""How long an answer is kept for a retry."""
LEASE_MS = 10 * 60_000
"""How long a claimed key waits for its answer before a retry may take it over (its server died)."""
PRUNE_EVERY_S = 60.0
MAX_KEY_LENGTH = 128


def _bookkeeping_engine(engine: sa.Engine) -> sa.Engine:
    """The engine key rows are written with: on PostgreSQL, connections of their own in autocommit whose commits
    do not wait for the disk; on SQLite, ``engine`` itself.

    Key rows are bookkeeping beside every write a client makes. Each of their statements stands alone (the
    claim is one insert, the answer one update), so autocommit makes each one round trip, without BEGIN and
    COMMIT around it; and waiting for the disk for them too would triple the cost of a write. What this risks
    is small: only a crash of the database server itself loses the last moment of such commits, and the
    write's own commit, which waits for the disk, flushes the claim made before it. A lost answer row makes
    a retry do the write again, as if no key had been sent; nothing the write stored is lost.
    """
    if engine.dialect.name != "postgresql":
        return engine
    pool_size = engine.pool.size() if isinstance(engine.pool, sa.pool.QueuePool) else None
    url = engine.url.render_as_string(hide_password=False)
    keys_engine = _engine.create_engine(url, pool_size=pool_size).execution_options(isolation_level="AUTOCOMMIT")

    @sa.event.listens_for(keys_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        dbapi_connection.execute("SET synchronous_commit TO OFF")
        dbapi_connection.autocommit = autocommit

    @sa.event.listens_for(engine, "engine_disposed")
    def _on_dispose(_engine: sa.Engine) -> None:
        keys_engine.dispose()  # closing the store closes these connections too

    return keys_engine


_ANSWER = (
    sa.update(keys)
    .where(keys.c.key == sa.bindparam("k"), keys.c.user_name == sa.bindparam("u"))
    .values(status=sa.bindparam("status"), answer=sa.bindparam("answer"))
)


@dataclass(frozen=True)
class Answer:
    """An answer kept for a key: the HTTP status and the body, sent again as they were."""

    status: int
    body: str


class IdempotencyStore(StoreBase):
    """Claims on idempotency keys and the answers kept for them, per user; ``clock`` (ms since the epoch) is
    for tests to move time."""

    def __init__(self, engine: sa.Engine, *, clock: Callable[[], int] = now_ms) -> None:
        super().__init__(engine)
        self._keys = _bookkeeping_engine(engine)
        self._claim = self._insert(keys).on_conflict_do_nothing().returning(keys.c.key)
        """Built once (a write request claims a key each time): an insert that returns nothing for a taken key."""
        self._now = clock
        self._pruned_at = -PRUNE_EVERY_S

    def begin(self, key: str, user: str, operation: str, request_digest: str) -> Answer | None:
        """Claim ``key`` for a request: None when it should go ahead, the kept answer for a retry of one
        that was answered. ``Conflict`` while the key's request still runs, ``InvalidInput`` when the key
        was used for another request."""
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise InvalidInput(
                f"The Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} printable characters; got {key[:40]!r}. "
                "Send a fresh random key (a uuid) per write, the same one on its retries."
            )
        now = self._now()
        self._prune(now)
        row = {"key": key, "user_name": user, "operation": operation, "request_digest": request_digest}
        for _ in range(3):  # a claim removed between our insert and our read: try again
            with self._bookkeeping() as conn:
                if conn.execute(self._claim, row | {"created_at": now}).first() is not None:
                    return None
                found = conn.execute(sa.select(keys).where(keys.c.key == key, keys.c.user_name == user)).first()
                if found is None:
                    continue
                if found.created_at < now - TTL_MS or (found.status is None and found.created_at < now - LEASE_MS):
                    # An expired key, or the claim of a server that died: ours, unless another retry took it first.
                    taken = conn.execute(
                        sa.update(keys)
                        .where(keys.c.key == key, keys.c.user_name == user, keys.c.created_at == found.created_at)
                        .values(**row, status=None, answer=None, created_at=now)
                        .returning(keys.c.key)
                    ).first()
                    if taken is not None:
                        return None
                    continue
            if (found.operation, found.request_digest) != (operation, request_digest):
                raise InvalidInput(
                    f"The Idempotency-Key {key!r} was used for another request ({found.operation}); a retry must "
                    "send the same request. Use a fresh key for a new request."
                )
            if found.status is None:
                raise Conflict(
                    f"The request with Idempotency-Key {key!r} is still being processed; retry in a moment to get "
                    "its answer."
                )
            return Answer(found.status, found.answer or "")
        raise Conflict(f"The Idempotency-Key {key!r} is being claimed and released concurrently; retry.")

    def finish(self, key: str, user: str, answer: Answer) -> None:
        """Keep the answer of the request that claimed ``key``."""
        with self._bookkeeping() as conn:
            conn.execute(_ANSWER, {"k": key, "u": user, "status": answer.status, "answer": answer.body})

    def abandon(self, key: str, user: str) -> None:
        """Release ``key`` after its request failed: a retry does the request again."""
        with self._bookkeeping() as conn:
            conn.execute(sa.delete(keys).where(keys.c.key == key, keys.c.user_name == user, keys.c.status.is_(None)))

    @contextmanager
    def _bookkeeping(self) -> Iterator[sa.Connection]:
        """A connection for key rows: each statement its own commit on PostgreSQL (see ``_bookkeeping_engine``),
        one write transaction on SQLite."""
        if self._keys is self.engine:
            with self._write() as conn:
                yield conn
            return
        with unreachable_is_store_error(self._keys), self._keys.connect() as conn:
            yield conn

    def _prune(self, now: int) -> None:
        """Drop keys past their day, at most once a minute per process (one indexed delete)."""
        if time.monotonic() - self._pruned_at < PRUNE_EVERY_S:
            return
        self._pruned_at = time.monotonic()
        with self._write() as conn:
            conn.execute(sa.delete(keys).where(keys.c.created_at < now - TTL_MS))
