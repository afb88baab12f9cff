"""Blob transfer through the server: uploads streamed to a temporary file, hashed, checked, then stored.

``PUT /api/v1/blobs/{digest}`` takes the bytes of one blob; the server hashes them as they arrive and
stores them only when they match ``digest`` (else 422, nothing kept). ``GET`` streams a blob back (the
client checks it too), ``GET …/stat`` says whether it exists and its size. Blobs are content-addressed and
carry no project: writing needs the editor role in some project, reading a role in some project.

Collecting blobs is a server admin's (``shipyard gc`` against a server): ``GET /api/v1/blobs`` lists every
blob in digest order, paged, and ``POST /api/v1/blobs/gc`` removes those not referenced, past the grace
period, as the local store's ``gc`` does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import os
import re
import tempfile
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from shipyard.client import codec, wire
from shipyard.core.entities_accounts import Principal
from shipyard.core.errors import InvalidInput, PayloadTooLarge, PermissionDenied
from shipyard.server.access import rank

if TYPE_CHECKING:
    from fastapi import FastAPI

    from shipyard.server.context import ServerContext

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
MAX_BLOB_BYTES = 64 * 1024**3
PAGE_SIZE = 5_000
MAX_PAGE_SIZE = 50_000


class GcRequest(BaseModel):
    """What ``BlobsBackend.gc`` takes: the digests something refers to, the grace period, and the time."""

    model_config = ConfigDict(extra="forbid")
    referenced: list[str]
    grace_seconds: float
    now: float | None = None
    dry_run: bool = False


async def _caller(request: Request) -> Principal:
    context: ServerContext = request.app.state.context
    return await context.principal(request)


Caller = Annotated[Principal, Depends(_caller)]
"""The request's user (401 without a valid token). Module-level: FastAPI reads these annotations as strings
in this module's globals, so a dependency on a local ``context`` would not be found."""


def _digest(text: str) -> str:
    if not DIGEST.fullmatch(text):
        raise InvalidInput(f"{text[:80]!r} is not a blob digest: expected 'sha256:' and 64 lower-case hex digits.")
    return text


def _may_read(principal: Principal) -> None:
    if not (principal.admin or principal.roles):
        raise PermissionDenied(f"{principal.name} has no role in any project, so it may read no blob.")


def _may_collect(principal: Principal) -> None:
    if not principal.admin:
        raise PermissionDenied(
            f"Listing and collecting every blob needs a server admin; {principal.name} is not one. Ask the "
            "server's admin to run `shipyard gc` against the server."
        )


def _may_write(principal: Principal) -> None:
    if not (principal.admin or any(rank(r) >= rank("editor") for r in principal.roles.values())):
        raise PermissionDenied(f"Storing a blob needs the editor role in some project; {principal.name} has none.")


def add_routes(app: FastAPI, context: ServerContext) -> None:
    folder = context.upload_dir

    @app.get(f"{wire.API}/blobs", tags=["blobs"], openapi_extra={"x-shipyard-role": wire.SERVER_ADMIN})
    def list_blobs(
        principal: Caller,
        page_token: Annotated[str | None, Query()] = None,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    ) -> Response:
        _may_collect(principal)
        after = _digest(page_token) if page_token else ""
        found = heapq.nsmallest(page_size + 1, (b for b in context.backend.blobs.iter_blobs() if b[0] > after))
        items = found[:page_size]
        more = len(found) > page_size
        return Response(
            codec.dumps({"items": items, "next_page_token": items[-1][0] if more else None}),
            media_type="application/json",
        )

    @app.post(f"{wire.API}/blobs/gc", tags=["blobs"], openapi_extra={"x-shipyard-role": wire.SERVER_ADMIN})
    def collect_blobs(body: GcRequest, principal: Caller) -> Response:
        _may_collect(principal)
        for digest in body.referenced:
            _digest(digest)
        report = context.backend.blobs.gc(
            set(body.referenced), grace_seconds=body.grace_seconds, now=body.now, dry_run=body.dry_run
        )
        return Response(codec.dumps(dataclasses.asdict(report)), media_type="application/json")

    @app.put(f"{wire.API}/blobs/{{digest}}", tags=["blobs"], openapi_extra={"x-shipyard-role": "editor"})
    async def put_blob(digest: str, request: Request, principal: Caller) -> Response:
        _digest(digest)
        _may_write(principal)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BLOB_BYTES:
            raise PayloadTooLarge(f"A blob may be at most {MAX_BLOB_BYTES} bytes; this one says {declared}.")
        sha, size = hashlib.sha256(), 0
        fd, temp = tempfile.mkstemp(prefix="upload-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > MAX_BLOB_BYTES:
                        raise PayloadTooLarge(f"A blob may be at most {MAX_BLOB_BYTES} bytes.")
                    sha.update(chunk)
                    await run_in_threadpool(out.write, chunk)
            got = f"sha256:{sha.hexdigest()}"
            if got != digest:
                raise InvalidInput(
                    f"The uploaded bytes hash to {got}, not {digest}: the upload was damaged or the digest is "
                    "wrong; nothing was stored."
                )
            stored, _ = await run_in_threadpool(context.backend.blobs.adopt_file, temp)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
        return Response(f'{{"digest":"{stored}","size":{size}}}', status_code=201, media_type="application/json")

    @app.get(f"{wire.API}/blobs/{{digest}}/stat", tags=["blobs"], openapi_extra={"x-shipyard-role": "member"})
    def stat_blob(digest: str, principal: Caller) -> Response:
        _digest(digest)
        _may_read(principal)
        blobs = context.backend.blobs
        exists = blobs.exists(digest)
        size = blobs.size(digest) if exists else None
        return Response(
            f'{{"exists":{"true" if exists else "false"},"size":{"null" if size is None else size}}}',
            media_type="application/json",
        )

    @app.get(f"{wire.API}/blobs/{{digest}}", tags=["blobs"], openapi_extra={"x-shipyard-role": "member"})
    def get_blob(digest: str, principal: Caller) -> Response:
        _digest(digest)
        _may_read(principal)
        fd, temp = tempfile.mkstemp(prefix="download-", dir=folder)
        os.close(fd)
        try:
            context.backend.blobs.download(digest, temp)
        except BaseException:
            os.unlink(temp)
            raise
        return FileResponse(temp, media_type="application/octet-stream", background=BackgroundTask(os.unlink, temp))
