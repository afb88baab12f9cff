"""``Datasets``: register, find and load dataset versions in a store (``client.datasets`` / ``sy.datasets``)."""

from __future__ import annotations

import builtins
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.actor import current_actor
from shipyard.core.config import Settings
from shipyard.core.entities import DatasetVersion
from shipyard.core.errors import InvalidInput
from shipyard.core.refs import parse_ref
from shipyard.core.validation import check_name

if TYPE_CHECKING:
    import pyarrow as pa

    from shipyard.backends.protocol import Backend


class Datasets:
    """Dataset versions of one store.

    >>> train = client.datasets.register("churn-train", df)   # pandas, polars, Arrow, a Parquet/CSV path
    >>> train.version, train.digest, train.profile["rows"]
    >>> client.datasets.load("churn-train@1")                  # a pyarrow.Table, digest-verified
    """

    def __init__(self, backend: Backend, settings: Settings) -> None:
        self._backend = backend
        self._settings = settings

    def register(self, name: str, source: Any, *, project: str | None = None, description: str = "") -> DatasetVersion:
        """Store ``source`` as the next version of ``name``; the same content again returns the existing version."""
        from shipyard.data.writer import write_canonical_parquet

        name = check_name(name, "dataset")
        if "@" in name:
            raise InvalidInput(f"A dataset name cannot contain '@' (it separates the version); got {name!r}.")
        blobs = self._backend.blobs
        with tempfile.TemporaryDirectory(dir=blobs.scratch_dir(), prefix="dataset-") as folder:
            written = write_canonical_parquet(source, Path(folder))
            blob_digest, size = blobs.adopt_file(written.path)
        version, _created = self._backend.datasets.add_version(
            self._project(project),
            name,
            digest=written.digest,
            blob_digest=blob_digest,
            rows=written.rows,
            size_bytes=size,
            schema=written.schema.to_dict(),
            profile=written.profile.to_dict(),
            description=description,
            actor=current_actor(),
        )
        return version

    def get(self, ref: str | DatasetVersion, *, project: str | None = None) -> DatasetVersion:
        """``"churn-train"`` (newest), ``"churn-train@2"``; a ``DatasetVersion`` is returned as it is."""
        if isinstance(ref, DatasetVersion):
            return ref
        parsed = parse_ref(ref, "dataset")
        if parsed.alias is not None:
            raise InvalidInput(f"Datasets have numbered versions, not aliases; got {ref!r}. Use NAME or NAME@VERSION.")
        return self._backend.datasets.get_version(self._project(project), parsed.name, parsed.version)

    def list(self, project: str | None = None) -> builtins.list[DatasetVersion]:
        """The newest version of each dataset in ``project`` (all projects when ``project="*"``)."""
        return self._backend.datasets.list_datasets(None if project == "*" else self._project(project))

    def versions(self, name: str, *, project: str | None = None) -> builtins.list[DatasetVersion]:
        """Every version of one dataset, newest first."""
        return self._backend.datasets.list_versions(self._project(project), name)

    def load(self, ref: str | DatasetVersion, *, project: str | None = None) -> pa.Table:
        """The version's table, read from the artifact store after its digest is verified."""
        from shipyard.data.writer import read_dataset

        version = self.get(ref, project=project)
        with tempfile.TemporaryDirectory(prefix="shipyard-dataset-") as folder:
            path = Path(folder) / "data.parquet"
            self._backend.blobs.download(version.blob_digest, path)
            return read_dataset(path)

    def _project(self, project: str | None) -> str:
        return check_name(project or self._settings.project, "project")
