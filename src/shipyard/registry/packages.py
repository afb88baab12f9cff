"""Model packages in the artifact store: the flavor's files plus a manifest naming each file's digest.

A registered version points at its manifest's digest; so does a model a pipeline step produced and
did not register. Loading downloads every file through the blob store, which verifies its digest.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.artifacts import check_artifact_path
from shipyard.backends.protocol import BlobsBackend
from shipyard.core.errors import CorruptArtifact

if TYPE_CHECKING:
    from shipyard.packaging.package import LoadedModel, PackageInfo

MANIFEST_FORMAT = "shipyard-model/1"


@dataclass(frozen=True)
class StoredPackage:
    """A model package written to the blob store: its description, files and manifest digest."""

    info: PackageInfo
    files: list[tuple[str, str, int]]
    """(path inside the package, blob digest, size) of each file."""
    digest: str
    """The manifest's digest: what a model version's ``artifact_digest`` holds."""


def store_package(
    blobs: BlobsBackend, model: Any, *, flavor: str | None = None, input_example: Any = None, train_data: Any = None
) -> StoredPackage:
    """Package ``model`` with its flavor and put every file, then the manifest, into ``blobs``."""
    from shipyard.packaging.package import save_model

    with tempfile.TemporaryDirectory(prefix="shipyard-model-") as folder:
        info = save_model(model, Path(folder), flavor=flavor, input_example=input_example, train_data=train_data)
        files = []
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                digest, size = blobs.put_file(path)
                files.append((check_artifact_path(path.relative_to(folder).as_posix()), digest, size))
    manifest = {
        "format": MANIFEST_FORMAT,
        "files": [{"path": p, "digest": d, "size": s} for p, d, s in files],
        "package": info.to_dict(),
    }
    digest, _ = blobs.put_bytes(json.dumps(manifest, sort_keys=True).encode())
    return StoredPackage(info, files, digest)


def load_package(
    blobs: BlobsBackend,
    digest: str,
    *,
    trust_unsafe: bool = False,
    what: str = "the model",
    separate_process: bool = False,
) -> LoadedModel:
    """Load the package whose manifest is ``digest``; every file is verified as it is read
    (``separate_process``: see ``load_model``)."""
    from shipyard.packaging.package import PackageInfo, load_model

    manifest = json.loads(blobs.read_bytes(digest))
    if manifest.get("format") != MANIFEST_FORMAT:
        raise CorruptArtifact(
            f"{what}'s package manifest has format {manifest.get('format')!r}, not {MANIFEST_FORMAT!r}; "
            "it was not written by this Shipyard. Register the model again."
        )
    with tempfile.TemporaryDirectory(prefix="shipyard-model-") as folder:
        for item in manifest["files"]:
            blobs.download(item["digest"], Path(folder) / check_artifact_path(item["path"]))
        info = PackageInfo.from_dict(manifest["package"])
        return load_model(Path(folder), info, trust_unsafe=trust_unsafe, separate_process=separate_process)
