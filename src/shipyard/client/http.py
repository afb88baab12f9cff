"""``HttpBackend``: the backend seam spoken over HTTP to ``shipyard server``.

Each part (``backend.registry``, ``backend.store``, …) answers the protocol's methods by calling the
operation ``shipyard.client.wire`` names for it, so the domain services run unchanged on a server. Blobs
stream both ways: an upload is hashed first and the server checks the digest while it writes; a download is
checked here while it is written, and only a verified file is moved into place. A server started with
``--artifacts-direct`` says so in its ``stat`` answers; then the bytes go straight to and from the object
store through presigned URLs the server hands out (no token is sent there), and the server checks an upload
before it becomes the blob.
"""

from __future__ import annotations

import collections.abc
import contextlib
import functools
import hashlib
import inspect
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

from shipyard.backends import protocol
from shipyard.client import codec, wire
from shipyard.client.transport import TOKEN_ENV, Transport, httpx_module
from shipyard.core.digests import digest_bytes
from shipyard.core.entities_storage import GcReport
from shipyard.core.errors import CorruptArtifact, NotFound, PermissionDenied, StoreError

CHUNK = 1 << 20


class _Part:
    """One part of the backend: its protocol's methods, each a call of its wire operation."""

    def __init__(self, transport: Transport, attr: str, proto: type) -> None:
        self._transport = transport
        self._attr = attr
        self._proto = proto

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_") or not hasattr(self._proto, method):
            raise AttributeError(method)
        if method in wire.server_only(self._attr):
            call = functools.partial(_refused, self._attr, method)
        else:
            op = wire.operation(self._attr, method)
            if op is None:
                raise AttributeError(method)
            call = functools.partial(_call, self._transport, op, inspect.signature(getattr(self._proto, method)))
        self.__dict__[method] = call  # found once; later calls skip __getattr__
        return call


def _refused(attr: str, method: str, *args: Any, **kwargs: Any) -> Any:
    if (attr, method) == ("verdicts", "add"):
        raise PermissionDenied(
            "Verdicts are written by the server's own gate runs, never by a client: run the gate with "
            "`shipyard gate run` (or sy.gate.evaluate), which asks the server to evaluate."
        )
    raise PermissionDenied(f"{attr}.{method} runs only on the server.")


def _call(transport: Transport, op: wire.Operation, signature: inspect.Signature, *args: Any, **kwargs: Any) -> Any:
    bound = signature.bind(None, *args, **kwargs)
    bound.apply_defaults()
    given = bound.arguments
    values: dict[str, Any] = {}
    for p in op.sent:
        value = given.get(p.name, p.default)
        if p.keywords:
            value = dict(given.get(p.name, {}) or {})
        values[p.name] = codec.to_wire(p.annotation, value)
    if op.verb == "GET":
        query = {p.name: codec.query_value(p.annotation, values[p.name]) for p in op.sent if values[p.name] is not None}
        if not op.paged:
            return codec.from_wire(op.returns, transport.call("GET", op.path, params=query), op.label)
        return _all_pages(transport, op, query)
    if not op.paged:
        return codec.from_wire(op.returns, transport.call("POST", op.path, body=values), op.label)
    return _all_pages(transport, op, None, body=values)


def _all_pages(transport: Transport, op: wire.Operation, query: dict[str, Any] | None, body: Any = None) -> Any:
    items: list[Any] = []
    token: str | None = None
    while True:
        params = dict(query or {})
        if token is not None:
            params["page_token"] = token
        page = transport.call(op.verb, op.path, params=params, body=body)
        items.extend(page["items"])
        token = page.get("next_page_token")
        if not token:
            return codec.from_wire(op.returns, items, op.label)


class HttpBlobs:
    """Blobs through the server (or, when it says so, through presigned URLs of its object store): uploads
    streamed and checked by the server, downloads checked here."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._direct: bool | None = None  # learned from the first stat answer; a server does not change mode

    @property
    def url(self) -> str:
        return f"{self._transport.url}{wire.API}/blobs"

    def put_file(self, path: str | os.PathLike[str]) -> tuple[str, int]:
        digest, size = _hash_file(path)
        if not self.exists(digest):
            with open(path, "rb") as source:
                self._upload(digest, size, _chunks(source))
        return digest, size

    def adopt_file(self, path: str | os.PathLike[str]) -> tuple[str, int]:
        stored = self.put_file(path)
        os.unlink(path)
        return stored

    def scratch_dir(self) -> Path | None:
        return None

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        digest = digest_bytes(data)
        if not self.exists(digest):
            self._upload(digest, len(data), data)
        return digest, len(data)

    def _upload(self, digest: str, size: int, content: Any) -> None:
        if self._is_direct(digest):
            target = self._transport.call("POST", f"{wire.API}/blobs/{digest}/upload")
            doing = f"upload the blob {digest}"
            with _object_store(doing) as store:
                answer = store.put(target["url"], content=content, headers={"content-length": str(size)})
                _check_object_store(answer, doing)
            self._transport.call("POST", f"{wire.API}/blobs/{digest}/adopt")
            return
        self._transport.call(
            "PUT",
            f"{wire.API}/blobs/{digest}",
            content=content,
            headers={"content-type": "application/octet-stream", "content-length": str(size)},
        )

    def exists(self, digest: str) -> bool:
        return bool(self._stat(digest)["exists"])

    def size(self, digest: str) -> int:
        found = self._stat(digest)
        if not found["exists"]:
            raise NotFound(f"No blob {digest} in the server's artifact store.")
        return int(found["size"])

    def _stat(self, digest: str) -> dict[str, Any]:
        answer: dict[str, Any] = self._transport.call("GET", f"{wire.API}/blobs/{digest}/stat")
        self._direct = bool(answer.get("direct", False))
        return answer

    def _is_direct(self, digest: str) -> bool:
        if self._direct is None:
            self._stat(digest)
        return bool(self._direct)

    @contextlib.contextmanager
    def _fetching(self, digest: str) -> Iterator[Any]:
        """The streamed response carrying the blob's bytes: from the object store, or from the server."""
        if not self._is_direct(digest):
            response = self._transport.send("GET", f"{wire.API}/blobs/{digest}", stream=True)
            try:
                yield response
            finally:
                response.close()
            return
        url = self._transport.call("GET", f"{wire.API}/blobs/{digest}/url")["url"]
        doing = f"download the blob {digest}"
        with _object_store(doing) as store, store.stream("GET", url) as response:
            if response.status_code >= 400:
                response.read()
                _check_object_store(response, doing)
            yield response

    def read_bytes(self, digest: str) -> bytes:
        with self._fetching(digest) as response:
            data: bytes = response.read()
        if digest_bytes(data) != digest:
            raise CorruptArtifact(f"The blob {digest} arrived from the server with other content; nothing was kept.")
        return data

    def download(self, digest: str, dest: str | os.PathLike[str]) -> None:
        dest = Path(dest)
        temp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:12]}.part")
        dest.parent.mkdir(parents=True, exist_ok=True)
        sha = hashlib.sha256()
        try:
            with self._fetching(digest) as response, open(temp, "xb") as out:
                for chunk in response.iter_bytes(CHUNK):
                    sha.update(chunk)
                    out.write(chunk)
            if f"sha256:{sha.hexdigest()}" != digest:
                raise CorruptArtifact(
                    f"The blob {digest} arrived from the server with other content; {dest} was left unchanged."
                )
            os.replace(temp, dest)
        finally:
            temp.unlink(missing_ok=True)

    def iter_blobs(self) -> Iterator[tuple[str, int, float]]:
        """Every blob of the server's store, in digest order, a page at a time (a server admin's)."""
        token: str | None = None
        while True:
            page = self._transport.call("GET", f"{wire.API}/blobs", params={"page_token": token} if token else None)
            yield from ((digest, int(size), float(mtime)) for digest, size, mtime in page["items"])
            token = page.get("next_page_token")
            if not token:
                return

    def gc(
        self, referenced: set[str], grace_seconds: float, now: float | None = None, dry_run: bool = False
    ) -> GcReport:
        """The server's store collected (a server admin's): ``referenced`` is what the metadata refers to."""
        body = {"referenced": sorted(referenced), "grace_seconds": grace_seconds, "now": now, "dry_run": dry_run}
        answer = self._transport.call("POST", f"{wire.API}/blobs/gc", body=body)
        return cast(GcReport, codec.from_wire(GcReport, answer, "blobs.gc"))


def _hash_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return f"sha256:{sha.hexdigest()}", size


@contextlib.contextmanager
def _object_store(doing: str) -> Iterator[Any]:
    """A plain HTTP client for presigned URLs: no token, no base URL, nothing of the server's session; a
    failure to reach the store becomes a ``StoreError``."""
    httpx = httpx_module()
    timeout = httpx.Timeout(300.0, connect=10.0)
    try:
        with httpx.Client(timeout=timeout, headers={"user-agent": "shipyard-client"}) as client:
            yield client
    except httpx.TransportError as e:
        raise StoreError(
            f"Cannot reach the artifact store to {doing} ({type(e).__name__}); the server hands out URLs to it "
            "(--artifacts-direct), so this machine must reach the object store too. Check the network."
        ) from None


def _check_object_store(response: Any, doing: str) -> None:
    """Raise ``StoreError`` for an error answer of the object store; the URL (a credential) is not repeated."""
    if response.status_code < 400:
        return
    code = re.search(rb"<Code>([^<]{1,64})</Code>", response.content or b"")
    reason = code.group(1).decode(errors="replace") if code else f"HTTP {response.status_code}"
    raise StoreError(
        f"The artifact store refused to {doing} through the URL the server handed out ({response.status_code}, "
        f"{reason}); if the URL expired (they live minutes), try again."
    )


def _chunks(source: Any) -> Iterator[bytes]:
    while chunk := source.read(CHUNK):
        yield chunk


class HttpGate:
    """The gate, run by the server (``POST /api/v1/gate/evaluate``): one request per evaluation, never retried
    (a retry would judge again), on a connection of its own with a timeout fit for a gate run."""

    TIMEOUT = 900.0

    def __init__(self, url: str, token: str | None) -> None:
        self._url, self._token = url, token
        self._transport: Transport | None = None

    def evaluate(
        self, project: str, models: collections.abc.Sequence[str], *, data: str | None = None
    ) -> list[dict[str, Any]]:
        if self._transport is None:
            self._transport = Transport(self._url, self._token, timeout=self.TIMEOUT, retries=0)
        body = {"project": project, "models": list(models), "data": data}
        answer = self._transport.call("POST", f"{wire.API}/gate/evaluate", body=body)
        return list(answer["verdicts"])

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class HttpBackend:
    """Every part of the seam over HTTP to one ``shipyard server``; chosen by an ``http(s)://`` URI."""

    def __init__(self, url: str, token: str | None, *, timeout: float = 30.0, retries: int = 5) -> None:
        self.transport = Transport(url, token, timeout=timeout, retries=retries)
        parts = {attr: (attr, proto) for attr, proto, _ in wire.TABLE.values()}
        for attr, (name, proto) in parts.items():
            setattr(self, f"_{name}", _Part(self.transport, attr, proto))
        self._blobs = HttpBlobs(self.transport)
        self._gate = HttpGate(self.transport.url, token)

    store = property(lambda self: cast("protocol.RunsBackend", self._store))
    datasets = property(lambda self: cast("protocol.DatasetsBackend", self._datasets))
    registry = property(lambda self: cast("protocol.RegistryBackend", self._registry))
    verdicts = property(lambda self: cast("protocol.VerdictsBackend", self._verdicts))
    policies = property(lambda self: cast("protocol.PoliciesBackend", self._policies))
    pipelines = property(lambda self: cast("protocol.PipelinesBackend", self._pipelines))
    schedules = property(lambda self: cast("protocol.SchedulesBackend", self._schedules))
    predictions = property(lambda self: cast("protocol.PredictionsBackend", self._predictions))
    monitors = property(lambda self: cast("protocol.MonitorsBackend", self._monitors))
    canaries = property(lambda self: cast("protocol.CanariesBackend", self._canaries))
    loops = property(lambda self: cast("protocol.LoopsBackend", self._loops))
    blobs = property(lambda self: cast("protocol.BlobsBackend", self._blobs))
    accounts = property(lambda self: cast("protocol.AccountsBackend", self._accounts))

    @property
    def gate_server(self) -> HttpGate:
        return self._gate

    @property
    def metadata_location(self) -> str:
        return self.transport.url

    def after_fork(self) -> None:
        self.transport.forget_connections()

    def close(self) -> None:
        self._gate.close()
        self.transport.close()


def open_http(url: str, token: str | None = None) -> HttpBackend:
    """The backend of the server at ``url``; the token defaults to ``$SHIPYARD_TOKEN``."""
    return HttpBackend(url, token if token is not None else os.environ.get(TOKEN_ENV) or None)
