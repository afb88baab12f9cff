"""Where a store URI puts the metadata and the blobs: a folder, ``sqlite:///…`` or ``postgresql+psycopg://…``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from shipyard.core.config import Settings
from shipyard.core.errors import InvalidInput


@dataclass(frozen=True)
class Locations:
    """Where the metadata and the blobs live, resolved from a URI."""

    database: str
    artifacts: str


def resolve(settings: Settings, *, need_artifacts: bool = True) -> Locations:
    """Where the settings' store keeps its database and its blobs. A PostgreSQL store names its artifact store
    apart (``SHIPYARD_ARTIFACTS``): without one it is refused, unless ``need_artifacts`` is false (the schema
    commands touch only the database; ``artifacts`` is then empty)."""
    uri = settings.uri
    scheme = urlparse(uri).scheme.split("+")[0]
    if scheme in ("http", "https"):
        raise InvalidInput(f"SHIPYARD_URI={uri!r} names a Shipyard server, which keeps the database and files itself.")
    if scheme == "sqlite":
        database = uri
        path = uri.split(":///", 1)[1] if ":///" in uri else ""
        default_artifacts = str(Path(path).resolve().parent / "artifacts") if path else ""
    elif scheme == "postgresql":
        database, default_artifacts = uri, ""
    elif scheme in ("", "file") or len(scheme) == 1:  # a path; one letter is a Windows drive
        folder = Path(urlparse(uri).path if scheme == "file" else uri).expanduser()
        if not folder.is_absolute():
            folder = settings.root / folder
        database = f"sqlite:///{folder / 'shipyard.db'}"
        default_artifacts = str(folder / "artifacts")
    else:
        raise InvalidInput(f"Unsupported store URI {uri!r}: expected a folder, sqlite:///…, or postgresql+psycopg://….")
    artifacts = settings.artifacts or default_artifacts
    if not artifacts and need_artifacts:
        raise InvalidInput(
            f"The store {uri!r} keeps no files of its own; set SHIPYARD_ARTIFACTS to an artifact store "
            "such as s3://bucket/shipyard or a shared folder."
        )
    return Locations(database=database, artifacts=artifacts)
