"""sha256 digests, written ``sha256:<hex>`` wherever a digest is shown or stored."""

from __future__ import annotations

import hashlib
import re
from typing import IO

from shipyard.core.errors import InvalidInput

PREFIX = "sha256:"
CHUNK_SIZE = 1 << 20
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def digest_bytes(data: bytes) -> str:
    return PREFIX + hashlib.sha256(data).hexdigest()


def digest_stream(stream: IO[bytes]) -> str:
    h = hashlib.sha256()
    while chunk := stream.read(CHUNK_SIZE):
        h.update(chunk)
    return PREFIX + h.hexdigest()


def check_digest(digest: str) -> str:
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise InvalidInput(f"A digest looks like 'sha256:' followed by 64 hex characters; got {digest!r}.")
    return digest


def hex_part(digest: str) -> str:
    return check_digest(digest)[len(PREFIX) :]
