"""Blob transfer through the server: uploads streamed to a temporary file, hashed, checked, then stored.

``PUT /api/v1/blobs/{digest}`` takes the bytes of one blob; the server hashes them as they arrive and
stores them only when they match ``digest`` (else 422, nothing kept). ``GET`` streams a blob back (the
client checks it too), ``GET …/stat`` says whether it exists and its size. Blobs are content-addressed and
carry no project: writing needs the editor role in some project, reading a role in some project.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at run time, and
# `Depends(context.principal)` names a local variable that a string annotation cannot reach.
import hashlib
import os
import re
import tempfile
from typing import TYPE_CHECKING

from fastapi import Depends, Request, Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from shipyard.client import wire
from shipyard.core.entities_accounts import Principal
from shipyard.core.errors import InvalidInput, PayloadTooLarge, PermissionDenied
from shipyard.server.access import rank

if TYPE_CHECKING:
    from fastapi import FastAPI

    from shipyard.server.context import ServerContext

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
MAX_BLOB_BYTES = 64 * 1024**3


def _digest(text: str) -> str:
    if not DIGEST.fullmatch(text):
        raise InvalidInput(f"{text[:80]!r} is not a blob digest: expected 'sha256:' and 64 lower-case hex digits.")
    return text


def _may_read(principal: Principal) -> None:
    if not (principal.admin or principal.roles):
        raise PermissionDenied(f"{principal.name} has no role in any project, so it may read no blob.")


def _may_write(principal: Principal) -> None:
    if not (principal.admin or any(rank(r) >= rank("editor") for r in principal.roles.values())):
        raise PermissionDenied(f"Storing a blob needs the editor role in some project; {principal.name} has none.")


def add_routes(app: "FastAPI", context: "ServerContext") -> None:
    folder = context.upload_dir
    # ``principal`` is a default, not ``Annotated[…]``: under postponed annotations FastAPI could not resolve a
    # ``Depends`` on this function's local ``context`` in the string, and the OpenAPI document failed.

    @app.put(f"{wire.API}/blobs/{{digest}}", tags=["blobs"], openapi_extra={"x-shipyard-role": "editor"})
    async def put_blob(
        digest: str,
        request: Request,
        principal: Principal = Depends(context.principal),  # noqa: B008
    ) -> Response:
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
    def stat_blob(
        digest: str,
        principal: Principal = Depends(context.principal),  # noqa: B008
    ) -> Response:
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
    def get_blob(
        digest: str,
        principal: Principal = Depends(context.principal),  # noqa: B008
    ) -> Response:
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
