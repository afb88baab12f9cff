"""Shipyard: track, version, gate, serve, monitor and retrain models in one loop.

>>> import shipyard as sy
>>> with sy.start_run(project="churn", name="baseline") as run:
...     run.log_params({"C": 1.0})
...     run.log_metric("auc", 0.91)
>>> sy.search_runs(project="churn", filter="metrics.auc > 0.9")
>>> train = sy.datasets.register("churn-train", df)
>>> model = sy.models.load("churn@champion")

The module-level functions and ``sy.datasets``, ``sy.models`` and ``sy.gate`` use a default ``Client``
made on first use from ``SHIPYARD_URI`` / ``shipyard.toml`` / ``./.shipyard``; ``sy.init(uri)`` replaces
it, and each of them acts on the client that is the default when it is called. ``sy.datasets``,
``sy.models`` and ``sy.gate`` are typed as ``Datasets``, ``Models`` and ``Gate`` (``shipyard._defaults``),
so a type checker and a completer see their real methods. Nothing heavy (SQLAlchemy, fsspec, a database
driver, pandas) is imported until a client is made; ``dir(shipyard)`` lists ``__all__``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, overload

from shipyard import _defaults
from shipyard.core.entities import (
    AuditEvent,
    DatasetVersion,
    Metric,
    ModelVersion,
    RegisteredModel,
    RunArtifact,
    RunPage,
    RunRecord,
    RunStatus,
)
from shipyard.core.errors import (
    AlreadyExists,
    Conflict,
    CorruptArtifact,
    FilterSyntaxError,
    GateBlocked,
    InvalidInput,
    MissingDependency,
    NotFound,
    PermissionDenied,
    SchemaOutdated,
    ShipyardError,
    StoreError,
    TooManyAttempts,
    Unauthenticated,
)
from shipyard.pipelines import Dataset, Model, Pipeline, PipelineRun, Step, pipeline, step
from shipyard.registry import DatasetLineage, ModelLineage
from shipyard.tracking import Client, Run, active_run
from shipyard.tracking.default import default_client, set_default_client

if TYPE_CHECKING:
    import pyarrow as pa

    from shipyard.data.service import Datasets
    from shipyard.gates.service import Gate
    from shipyard.registry.service import Models

__version__ = "0.1.0"

__all__ = [
    "AlreadyExists",
    "AuditEvent",
    "Client",
    "Conflict",
    "CorruptArtifact",
    "Dataset",
    "DatasetLineage",
    "DatasetVersion",
    "FilterSyntaxError",
    "GateBlocked",
    "InvalidInput",
    "Metric",
    "MissingDependency",
    "Model",
    "ModelLineage",
    "ModelVersion",
    "NotFound",
    "PermissionDenied",
    "Pipeline",
    "PipelineRun",
    "RegisteredModel",
    "Run",
    "RunArtifact",
    "RunPage",
    "RunRecord",
    "RunStatus",
    "SchemaOutdated",
    "ShipyardError",
    "Step",
    "StoreError",
    "TooManyAttempts",
    "Unauthenticated",
    "__version__",
    "active_run",
    "datasets",
    "feedback",
    "gate",
    "get_metric_history",
    "get_run",
    "init",
    "lineage",
    "models",
    "pipeline",
    "predictions",
    "search_runs",
    "start_run",
    "step",
]


def init(uri: str | None = None, **settings: Any) -> Client:
    """Make a ``Client`` for ``uri`` the default one, and return it.

    ``uri`` is a folder, ``sqlite:///…`` or ``postgresql+psycopg://…``; None reads ``SHIPYARD_URI`` /
    ``shipyard.toml`` / ``./.shipyard``. ``settings`` are ``Settings`` fields (``project``, ``artifacts``,
    ``flush_interval``, …). From the next call on, the module-level functions and ``sy.datasets``,
    ``sy.models`` and ``sy.gate`` act on this client; the previous one stays open (its runs go on logging).

    >>> sy.init("/data/team/.shipyard", project="churn")
    """
    client = Client(uri, **settings)
    set_default_client(client)
    return client


def _client() -> Client:
    return default_client()


def start_run(
    project: str | None = None,
    name: str | None = None,
    *,
    run_id: str | None = None,
    parent: Run | str | None = None,
    tags: Mapping[str, Any] | None = None,
) -> Run:
    """Start (or with ``run_id``, resume) a run on the default client; see ``Client.start_run``."""
    return _client().start_run(project, name, run_id=run_id, parent=parent, tags=tags)


def search_runs(
    project: str | None = None,
    filter: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int = 1000,
    page_token: str | None = None,
    include_deleted: bool = False,
) -> RunPage:
    """Search runs on the default client, newest first; see ``Client.search_runs`` for filters and paging.

    ``project=None`` searches every project. Deleted runs (``Client.delete_run``) are left out unless
    ``include_deleted=True``.

    >>> sy.search_runs(project="churn", filter="metrics.auc > 0.9", order_by=["metrics.auc DESC"])
    """
    return _client().search_runs(project, filter, order_by, max_results, page_token, include_deleted=include_deleted)


def get_run(run_id: str) -> RunRecord:
    """The run as stored now, on the default client; see ``Client.get_run``: ``sy.get_run(run.id).metrics``."""
    return _client().get_run(run_id)


def get_metric_history(run_id: str, key: str, *, max_points: int | None = None) -> list[Metric]:
    """Every point of one metric of a run, in step order, on the default client; see ``Client.get_metric_history``.

    >>> [(m.step, m.value) for m in sy.get_metric_history(run.id, "loss")]
    >>> chart = sy.get_metric_history(run.id, "loss", max_points=1000)  # first, last, lows and highs per bucket
    """
    return _client().get_metric_history(run_id, key, max_points=max_points)


@overload
def lineage(
    ref: str | ModelVersion, *, kind: Literal["model"] = "model", project: str | None = None
) -> ModelLineage: ...
@overload
def lineage(ref: DatasetVersion, *, kind: str = "model", project: str | None = None) -> DatasetLineage: ...
@overload
def lineage(ref: str, *, kind: Literal["dataset"], project: str | None = None) -> DatasetLineage: ...
@overload
def lineage(
    ref: str | ModelVersion | DatasetVersion, *, kind: str, project: str | None = None
) -> ModelLineage | DatasetLineage: ...
def lineage(
    ref: str | ModelVersion | DatasetVersion, *, kind: str = "model", project: str | None = None
) -> ModelLineage | DatasetLineage:
    """What produced a model version, or (``kind="dataset"``) what used a dataset version; see ``Client.lineage``.

    >>> sy.lineage("churn@champion").trained_on        # ModelLineage: run, data, parents, upstream steps
    >>> sy.lineage("churn-train@2", kind="dataset")     # DatasetLineage: the runs and models that used it
    """
    return _client().lineage(ref, kind=kind, project=project)


_Moment = datetime | date | timedelta | str | int


def predictions(
    model: str,
    *,
    since: _Moment | None = None,
    until: _Moment | None = None,
    version: int | None = None,
    role: str | None = None,
    project: str | None = None,
) -> pa.Table:
    """What ``model``'s deployments answered, one row per input row, as a ``pyarrow.Table`` (oldest first).

    ``since`` (inclusive) and ``until`` (exclusive) take a datetime, an ISO 8601 string, ms since the epoch,
    or a ``timedelta`` meaning that long ago: ``sy.predictions("churn", since=timedelta(hours=1))``.
    ``version`` and ``role`` (``champion``, ``canary``, ``shadow``) narrow the rows; see ``docs/serving.md``.
    """
    from shipyard.serving.predictions import read_predictions, to_ms

    client = _client()
    return read_predictions(
        client.backend,
        project or client.settings.project,
        model,
        since_ms=to_ms(since, "since"),
        until_ms=to_ms(until, "until"),
        version=version,
        role=role,
    )


def feedback(
    model: str, *, since: _Moment | None = None, until: _Moment | None = None, project: str | None = None
) -> pa.Table:
    """The ground truth sent for ``model``'s predictions (``POST /feedback``), as a ``pyarrow.Table``.

    Columns ``request_id``, ``at``, ``label``, ``row``; ``since`` and ``until`` as for :func:`predictions`.
    """
    from shipyard.serving.predictions import read_feedback, to_ms

    client = _client()
    return read_feedback(
        client.backend,
        project or client.settings.project,
        model,
        since_ms=to_ms(since, "since"),
        until_ms=to_ms(until, "until"),
    )


datasets: Datasets = _defaults.DefaultDatasets(_client)
"""Dataset versions of the default client: ``sy.datasets.register("churn-train", df)``, ``get``, ``load``, …"""

models: Models = _defaults.DefaultModels(_client)
"""The default client's model registry: ``sy.models.load("churn@champion")``, ``set_alias``, …"""

gate: Gate = _defaults.DefaultGate(_client)
"""The default client's release gate: ``sy.gate.evaluate("churn@7", data="churn-eval")``."""


def __dir__() -> list[str]:
    # What completion offers: the public API, not the helpers imported to build it (Any, threading, …).
    return sorted(__all__)
