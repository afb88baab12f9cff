"""``Client``: the tracking API bound to one backend. The module-level functions use a default client."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, overload

from shipyard.artifacts import GcReport, check_artifact_path
from shipyard.core import validation as v
from shipyard.core.actor import current_actor
from shipyard.core.config import Settings
from shipyard.core.entities import DatasetVersion, Metric, ModelVersion, RunArtifact, RunPage, RunRecord, RunStatus
from shipyard.core.errors import InvalidInput, NotFound, StoreError
from shipyard.core.ids import check_run_id, new_run_id
from shipyard.data.service import Datasets
from shipyard.registry.lineage import DatasetLineage, ModelLineage
from shipyard.registry.service import Models
from shipyard.tracking import environment
from shipyard.tracking._background import Background
from shipyard.tracking.run import Run, _active_run

# Clients with background work; each leaves on close(). Held strongly so that a run the program no
# longer references is still flushed and ended at exit.
_clients: set[Client] = set()


class Client:
    """Tracking over one store. ``Client()`` uses ``SHIPYARD_URI`` / ``shipyard.toml`` / ``./.shipyard``.

    >>> client = Client("/tmp/demo/.shipyard")
    >>> with client.start_run(project="churn") as run:
    ...     run.log_metric("auc", 0.91)
    """

    def __init__(self, uri: str | None = None, *, artifacts: str | None = None, **settings: Any) -> None:
        from shipyard.backends import open_backend

        self.settings = Settings.load(uri=uri, artifacts=artifacts, **settings)
        self.backend = open_backend(self.settings)
        self._background = Background(
            self.backend.store,
            flush_interval=self.settings.flush_interval,
            heartbeat_interval=self.settings.heartbeat_interval,
        )
        self._lock = threading.Lock()
        self.datasets = Datasets(self.backend, self.settings)
        """Dataset versions: ``register``, ``get``, ``list``, ``versions``, ``load``."""
        self.models = Models(self.backend, self.settings, self.datasets)
        """The model registry: ``get``, ``list``, ``versions``, ``set_alias``, ``load``, ``archive``, …"""
        _clients.add(self)

    def __repr__(self) -> str:
        return f"<shipyard.Client uri={self.settings.uri!r}>"

    # runs ------------------------------------------------------------------------------------------

    def start_run(
        self,
        project: str | None = None,
        name: str | None = None,
        *,
        run_id: str | None = None,
        parent: Run | str | None = None,
        tags: Mapping[str, Any] | None = None,
        new_id: str | None = None,
    ) -> Run:
        """Start a run (a child of ``parent``, or of the run whose ``with`` block we are in), or resume ``run_id``.

        ``new_id`` gives the new run an id made beforehand with ``shipyard.core.ids.new_run_id`` (a pipeline
        names each step's run before the step starts, so it can mark the run crashed if the step's process dies).
        """
        if run_id is not None:
            return self._resume(check_run_id(run_id))
        project = v.check_name(project or self.settings.project, "project")
        new_id = new_run_id() if new_id is None else check_run_id(new_id)
        name = v.check_name(name, "run") if name is not None else f"run-{new_id[-8:]}"
        parent_id = self._parent_id(parent)
        checked_tags = v.check_tags(tags)
        env = environment.capture() if self.settings.capture_environment else {}
        record = self.backend.store.create_run(
            new_id,
            project=project,
            name=name,
            parent_id=parent_id,
            tags_=checked_tags,
            environment=env,
            pid=os.getpid(),
        )
        return self._enter(Run(self, record))

    def _resume(self, run_id: str) -> Run:
        record = self.backend.store.resume_run(run_id, pid=os.getpid())
        steps = self.backend.store.next_steps(run_id)
        return self._enter(Run(self, record, next_steps=steps))

    def _parent_id(self, parent: Run | str | None) -> str | None:
        if isinstance(parent, Run):
            return parent.id
        if isinstance(parent, str):
            return check_run_id(parent)
        if parent is not None:
            raise InvalidInput(f"parent must be a Run or a run id; got {type(parent).__name__}.")
        active = _active_run.get()
        # Only a run of this same store can be a parent; a run of another client is unrelated.
        return active.id if active is not None and active._client is self and not active._ended else None

    def _enter(self, run: Run) -> Run:
        self._background.register(run)
        return run

    def get_run(self, run_id: str) -> RunRecord:
        """The run as stored now: status, params, tags, each metric's latest value; ``NotFound`` for an unknown id.

        >>> client.get_run(run.id).metrics["auc"]
        """
        return self.backend.store.get_run(check_run_id(run_id))

    def search_runs(
        self,
        project: str | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        include_deleted: bool = False,
    ) -> RunPage:
        """Runs matching ``filter`` (e.g. ``"metrics.auc > 0.9 and params.penalty = 'l2'"``), newest first by default.

        ``project=None`` searches every project. Returns a list with ``next_page_token``; pass it back as
        ``page_token`` for the next page. Deleted runs (``delete_run``) are left out unless ``include_deleted``.

        >>> client.search_runs(project="churn", filter="metrics.auc > 0.9", order_by=["metrics.auc DESC"])
        """
        return self.backend.store.search_runs(
            project,
            filter=filter,
            order_by=order_by,
            max_results=max_results,
            page_token=page_token,
            include_deleted=include_deleted,
        )

    def get_metric_history(self, run_id: str, key: str, *, max_points: int | None = None) -> list[Metric]:
        """Every point of one metric, in step order (then time of logging); for a chart, at most ``max_points``.

        With ``max_points`` (2 to 10,000) a longer history is downsampled in the database, keeping its
        shape: the first and last point, and per bucket of steps (``(max_points - 2) // 2`` buckets of
        equal width) the lowest and the highest point, so spikes survive. Every point returned is one that
        was logged. A history of no more than ``max_points`` points comes whole.

        >>> chart = client.get_metric_history(run.id, "loss", max_points=1000)  # of 10M points: 1000
        """
        return self.backend.store.get_metric_history(check_run_id(run_id), key, max_points=max_points)

    def delete_run(self, run_id: str) -> None:
        """Hide a run; ``restore_run`` brings it back until ``gc`` purges it after the grace period."""
        self.backend.store.delete_run(check_run_id(run_id), actor=current_actor())

    def restore_run(self, run_id: str) -> None:
        """Bring back a deleted run (until ``gc`` has purged it)."""
        self.backend.store.restore_run(check_run_id(run_id), actor=current_actor())

    # lineage ---------------------------------------------------------------------------------------

    @overload
    def lineage(
        self, ref: str | ModelVersion, *, kind: Literal["model"] = "model", project: str | None = None
    ) -> ModelLineage: ...
    @overload
    def lineage(self, ref: DatasetVersion, *, kind: str = "model", project: str | None = None) -> DatasetLineage: ...
    @overload
    def lineage(self, ref: str, *, kind: Literal["dataset"], project: str | None = None) -> DatasetLineage: ...
    @overload
    def lineage(
        self, ref: str | ModelVersion | DatasetVersion, *, kind: str, project: str | None = None
    ) -> ModelLineage | DatasetLineage: ...
    def lineage(
        self, ref: str | ModelVersion | DatasetVersion, *, kind: str = "model", project: str | None = None
    ) -> ModelLineage | DatasetLineage:
        """What produced a model version (``"churn@champion"``), or with ``kind="dataset"`` (or a
        ``DatasetVersion``) which runs and model versions used a dataset version."""
        from shipyard.registry.lineage import dataset_lineage, model_lineage

        if isinstance(ref, DatasetVersion) or kind == "dataset":
            return dataset_lineage(self.backend, self.datasets.get(ref, project=project))  # type: ignore[arg-type]
        if kind != "model":
            raise InvalidInput(f"kind must be 'model' or 'dataset'; got {kind!r}.")
        version = ref if isinstance(ref, ModelVersion) else self.models.get(ref, project=project)
        return model_lineage(self.backend, version)

    # artifacts -------------------------------------------------------------------------------------

    def list_artifacts(self, run_id: str, prefix: str = "") -> list[RunArtifact]:
        """The files a run logged (path, digest, size), those under the folder path ``prefix`` when given."""
        return self.backend.store.list_artifacts(check_run_id(run_id), check_artifact_path(prefix) if prefix else "")

    def read_artifact(self, run_id: str, path: str) -> bytes:
        """The bytes of one artifact, verified against its digest (``CorruptArtifact`` if they differ)."""
        return self.backend.blobs.read_bytes(self._artifact(run_id, path).digest)

    def download_artifacts(self, run_id: str, path: str = "", dest: str | os.PathLike[str] = ".") -> Path:
        """Copy an artifact, or every artifact under a folder path, into ``dest``; each file is verified.

        All or nothing: the files are downloaded and verified into a temporary folder inside ``dest``, then
        moved into place, so a corrupt or missing blob leaves ``dest`` as it was.
        """
        items = self.list_artifacts(run_id, path)
        if not items:
            raise NotFound(f"Run {run_id} has no artifact at {path or '/'!r}; see `shipyard runs show {run_id}`.")
        target = Path(dest)
        created = not target.exists()
        # Inside dest, so that moving a file into place is a rename on the same filesystem.
        staging = target / f".shipyard-download-{uuid.uuid4().hex[:12]}.part"
        try:
            for item in items:
                self.backend.blobs.download(item.digest, staging / item.path)
            for item in items:  # everything is checked before the first file moves
                _check_room(target, item.path)
            for item in items:
                (target / item.path).parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / item.path, target / item.path)
        except BaseException:
            if created:
                shutil.rmtree(target, ignore_errors=True)
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target / path if path else target

    def _artifact(self, run_id: str, path: str) -> RunArtifact:
        wanted = check_artifact_path(path)
        for item in self.list_artifacts(run_id, wanted):
            if item.path == wanted:
                return item
        raise NotFound(f"Run {run_id} has no artifact {wanted!r}; list them with `shipyard runs show {run_id}`.")

    # maintenance -----------------------------------------------------------------------------------

    def gc(self, *, grace: float | None = None, dry_run: bool = False) -> GcReport:
        """Purge runs deleted more than ``grace`` seconds ago, then blobs no run refers to (older than ``grace``).

        With ``dry_run`` nothing is removed; the report lists what would be, runs included. Refuses with
        ``StoreError`` when the metadata store records nothing while the artifact store holds blobs: a lost
        or wrong database would otherwise have every blob deleted.
        """
        grace = self.settings.gc_grace if grace is None else grace
        if isinstance(grace, bool) or not isinstance(grace, int | float) or not 0 <= grace <= 315_360_000:
            raise InvalidInput(f"The gc grace period is 0 to 315,360,000 seconds (10 years); got {grace!r}.")
        self._refuse_gc_without_metadata()
        # The references are read after this moment, so a blob whose writer records its reference within
        # the grace period is either referenced or younger than the cutoff.
        started = time.time()
        cutoff = int((started - grace) * 1000)
        store = self.backend.store
        if dry_run:
            purged = store.purgeable_runs(cutoff)
            referenced = store.referenced_digests(excluding_runs=purged)
        else:
            purged = store.purge_deleted_runs(cutoff, actor=current_actor())
            referenced = store.referenced_digests()
        report = self.backend.blobs.gc(referenced, grace_seconds=grace, now=started, dry_run=dry_run)
        report.purged_runs = purged
        return report

    def _refuse_gc_without_metadata(self) -> None:
        # A lost, emptied or wrong database refers to nothing, so gc would take every blob with it.
        if self.backend.store.list_projects() or next(self.backend.blobs.iter_blobs(), None) is None:
            return
        where = self.backend.metadata_location
        raise StoreError(
            f"gc refused: the metadata store {where} records nothing (no project, run, "
            f"dataset or model), yet the artifact store {self.backend.blobs.url} holds blobs, so every one of "
            "them would be deleted. The database was probably lost, emptied or replaced: restore shipyard.db "
            "(or the database) from a backup, or point SHIPYARD_URI at the right one. To start over on "
            "purpose, delete the artifact store yourself."
        )

    def close(self) -> None:
        """Flush and stop background work. Runs still open stay open (they can be ended or resumed later)."""
        for run in self._background.active_runs():
            run._flush_quietly()
        self._background.stop()
        self.backend.close()
        _clients.discard(self)

    def _shutdown(self, failed: bool) -> None:
        for run in self._background.active_runs():
            with contextlib.suppress(Exception):  # at exit there is nobody left to tell
                run.end(RunStatus.FAILED if failed else RunStatus.FINISHED)
        self._background.stop()


def _check_room(target: Path, relative: str) -> None:
    """Refuse a download whose file would land on a folder, or below a file, already in ``target``."""
    final = target / relative
    files_above = [target / folder for folder in Path(relative).parents if (target / folder).is_file()]
    if final.is_dir() or files_above:
        blocker = final if final.is_dir() else files_above[0]
        raise InvalidInput(
            f"Cannot download {relative!r} into {target}: {blocker} is {'a folder' if blocker == final else 'a file'} "
            "in the way. Move it, or download into another folder; nothing was changed."
        )


def _forget_after_fork() -> None:
    # A forked child (a data-loader worker, say) must not share the parent's database connections, nor
    # flush or end the parent's runs: it starts with fresh pools and no runs of its own.
    for client in list(_clients):
        client.backend.after_fork()
        client._background = Background(
            client.backend.store,
            flush_interval=client.settings.flush_interval,
            heartbeat_interval=client.settings.heartbeat_interval,
        )
    _clients.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


@atexit.register
def _end_open_runs() -> None:
    # An uncaught exception leaves sys.last_value behind; runs left open by such a script failed.
    failed = getattr(sys, "last_value", None) is not None
    for client in list(_clients):
        client._shutdown(failed)


def active_run() -> Run | None:
    """The run whose ``with start_run(...)`` block the caller is in, if any."""
    return _active_run.get()
