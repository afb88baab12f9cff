"""Blob transfer through the server: uploads streamed to a temporary file, hashed, checked, then stored.

``PUT /api/v1/blobs/{digest}`` takes the bytes of one blob; the server hashes them as they arrive and
stores them only when they match ``digest`` (else 422, nothing kept). ``GET`` streams a blob back (the
client checks it too), ``GET …/stat`` says whether it exists and its size. Blobs are content-addressed and
carry no project: writing needs the editor role in some project, reading a role in some project.

With ``--artifacts-direct`` (``context.artifacts_direct``) the bytes go between the client and the object
store, never through the server: ``GET …/{digest}/url`` answers a presigned GET URL, ``POST …/{digest}/upload``
a presigned PUT URL to a staging object, and ``POST …/{digest}/adopt`` checks what was uploaded there and
makes it the blob (422, nothing kept, when the bytes are not ``digest``'s). Each URL is good for
``URL_SECONDS`` and is a bearer credential for one object only; the client sends no token with it. A proxying
server answers those three with 409, and ``stat`` tells a client which kind of server it talks to.

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
from shipyard.core.errors import Conflict, CorruptArtifact, InvalidInput, PayloadTooLarge, PermissionDenied
from shipyard.server.access import rank

if TYPE_CHECKING:
    from fastapi import FastAPI

    from shipyard.server.context import ServerContext

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
MAX_BLOB_BYTES = 64 * 1024**3
PAGE_SIZE = 5_000
MAX_PAGE_SIZE = 50_000
URL_SECONDS = 300
"""How long a presigned URL lets a client start its transfer (S3 checks when the request starts)."""


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


def _direct_only(context: ServerContext) -> None:
    if not context.artifacts_direct:
        raise Conflict(
            "This server proxies artifacts: it hands out no URLs to the object store. Send the bytes to "
            "PUT /api/v1/blobs/{digest} and read them from GET /api/v1/blobs/{digest} (a Shipyard client does "
            "this by itself), or ask the server's admin to start it with --artifacts-direct."
        )


def _url_answer(url: str | None) -> Response:
    if url is None:  # the startup check makes this unreachable; say so plainly if the store changed under us
        raise Conflict("The server's artifact store hands out no URLs; clients must go through the server.")
    return Response(codec.dumps({"url": url, "expires_in": URL_SECONDS}), media_type="application/json")


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
            codec.dumps({"exists": exists, "size": size, "direct": context.artifacts_direct}),
            media_type="application/json",
        )

    @app.get(f"{wire.API}/blobs/{{digest}}/url", tags=["blobs"], openapi_extra={"x-shipyard-role": "member"})
    def blob_url(digest: str, principal: Caller) -> Response:
        _digest(digest)
        _may_read(principal)
        _direct_only(context)
        return _url_answer(context.backend.blobs.presign_get(digest, expires=URL_SECONDS))  # NotFound if absent

    @app.post(f"{wire.API}/blobs/{{digest}}/upload", tags=["blobs"], openapi_extra={"x-shipyard-role": "editor"})
    def blob_upload_url(digest: str, principal: Caller) -> Response:
        _digest(digest)
        _may_write(principal)
        _direct_only(context)
        return _url_answer(context.backend.blobs.presign_put(digest, expires=URL_SECONDS))

    @app.post(f"{wire.API}/blobs/{{digest}}/adopt", tags=["blobs"], openapi_extra={"x-shipyard-role": "editor"})
    def adopt_blob(digest: str, principal: Caller) -> Response:
        _digest(digest)
        _may_write(principal)
        _direct_only(context)
        try:
            size = context.backend.blobs.adopt_staged(digest)  # NotFound when nothing was uploaded
        except CorruptArtifact as wrong:  # the client's bytes, not the store's: a client error
            raise InvalidInput(str(wrong)) from None
        return Response(codec.dumps({"digest": digest, "size": size}), status_code=201, media_type="application/json")

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
