"""What every request of one server process shares: the local backend, the token cache, the row scopes."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from shipyard.artifacts.blobstore import BlobStore
from shipyard.backends.local import LocalBackend
from shipyard.client import wire
from shipyard.core.entities_accounts import Principal
from shipyard.core.errors import InvalidInput
from shipyard.server.access import Hidden, Refusal, TokenCache, authorize, check_numbers
from shipyard.store.idempotency import IdempotencyStore
from shipyard.store.scopes import ScopeStore

PROBE_DIGEST = "sha256:" + "0" * 64
"""A digest to ask the store for a URL with (presigning is computed locally: nothing is sent or stored)."""


def require_presigning(blobs: BlobStore) -> None:
    """Raise ``InvalidInput`` unless ``blobs`` hands out presigned URLs, as ``--artifacts-direct`` needs."""
    if blobs.presign_put(PROBE_DIGEST, expires=60) is None:
        raise InvalidInput(
            f"--artifacts-direct needs an artifact store that hands out presigned URLs (s3://bucket/prefix); "
            f"{blobs.url} cannot, so its clients must go through the server. Drop --artifacts-direct (the server "
            "then proxies blobs) or serve an s3:// store."
        )


class ServerContext:
    """The server's hold on the store; nothing here outlives a request but caches, so replicas may share a store."""

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend
        self.scopes = ScopeStore(backend.store.engine)
        self.tokens = TokenCache(backend.accounts.authenticate)
        self.idempotency = IdempotencyStore(backend.store.engine)
        scratch = backend.blobs.scratch_dir()  # on the store's filesystem an upload is moved in, not copied
        self.upload_dir = str(scratch) if scratch is not None else tempfile.gettempdir()
        self.artifacts_direct = False
        """Whether clients move blobs through presigned URLs to the object store (``--artifacts-direct``)
        rather than through this server; set by :meth:`serve_artifacts_directly`."""

    def serve_artifacts_directly(self) -> None:
        """Hand clients presigned URLs instead of proxying blobs; refused for a store that cannot presign."""
        require_presigning(self.backend.blobs)
        self.artifacts_direct = True

    async def principal(self, request: Request) -> Principal:
        """The caller, from the request's bearer token (FastAPI dependency); 401 without a valid one.

        Async, so that a token seen in the last seconds costs no hop to a worker thread; a database read (a
        new token, or one not seen for a while) runs on a worker thread, off the event loop.
        """
        key, secret = self.tokens.key(request.headers.get("authorization"))
        found = self.tokens.cached(key)
        if found is None:
            found = await run_in_threadpool(self.tokens.ask, key, secret)
        request.state.principal = found.name
        return found

    def check(self, op: wire.Operation, args: Mapping[str, Any], principal: Principal) -> None:
        """Raise unless ``principal`` may call ``op``; a refused write (also of a row hidden from it) is audited."""
        check_numbers(args)
        try:
            authorize(
                op,
                args,
                principal,
                project_of=self.scopes.project_of,
                protected=self.backend.registry.protected_aliases,
                owns_token=self._owns_token,
            )
        except (Refusal, Hidden) as refused:
            if op.verb != "GET":
                self.scopes.record_refusal(
                    principal.name,
                    "access.denied",
                    refused.project,
                    {"operation": op.label, "message": str(refused)},
                )
            raise

    def _owns_token(self, principal: Principal, token_id: Any) -> bool:
        return any(t.id == token_id for t in self.backend.accounts.list_tokens(principal.name))

    def ready(self) -> None:
        """Raise ``StoreError`` unless the database answers (the readiness probe)."""
        self.scopes.ping()
