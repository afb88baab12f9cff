"""The facade is the contract: adding a name is a decision, removing one breaks users."""

import subprocess
import sys

import shipyard as sy

PUBLIC = {
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
}


def test_all_is_pinned() -> None:
    assert set(sy.__all__) == PUBLIC
    assert all(hasattr(sy, name) for name in sy.__all__)


def test_errors_subclass_the_matching_builtins_and_carry_exit_codes() -> None:
    assert issubclass(sy.NotFound, LookupError) and issubclass(sy.InvalidInput, ValueError)
    assert sy.GateBlocked.exit_code == 1 and sy.InvalidInput.exit_code == 2
    assert (sy.NotFound.http_status, sy.InvalidInput.http_status, sy.Conflict.http_status) == (404, 422, 409)


def test_import_shipyard_loads_nothing_heavy() -> None:
    code = (
        "import sys, shipyard\n"
        "heavy = {'sqlalchemy', 'alembic', 'fsspec', 'psycopg', 'typer', 'rich', 'pandas', 'ray', 'fastapi',"
        " 'starlette', 'numpy', 'pyarrow'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
