"""The facade is the contract: adding a name is a decision, removing one breaks users."""

import inspect
import rlcompleter
import subprocess
import sys

import pytest

import shipyard as sy
from shipyard.data.service import Datasets
from shipyard.gates.service import Gate
from shipyard.registry.service import Models

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
}


# What completes after `sy.gate.`, `sy.datasets.`, …: the public methods (and properties) of each object.
METHODS = {
    "gate": [
        "apply", "changes_from", "decision", "evaluate", "evaluate_many", "history", "in_force", "latest", "policy",
        "policy_in_force", "report",
    ],
    "datasets": ["get", "list", "load", "register", "versions"],
    "models": [
        "archive", "audit_head", "audit_log", "canaries", "canary", "delete_alias", "delete_version", "end_canary",
        "ensure_policy", "get", "list", "load", "log", "promote", "restore", "rollback", "sample_rows", "set_alias",
        "set_description", "set_tags", "start_canary", "verify_audit", "versions",
    ],
    "Client": [
        "close", "delete_run", "download_artifacts", "gc", "get_metric_history", "get_run", "lineage", "list_artifacts",
        "read_artifact", "restore_run", "search_runs", "start_run",
    ],
    "Run": [
        "end", "flush", "info", "log_artifact", "log_batch", "log_metric", "log_metrics", "log_model", "log_param",
        "log_params", "set_tag", "set_tags", "use_dataset",
    ],
}  # fmt: skip
SERVICES = {"gate": Gate, "datasets": Datasets, "models": Models}


def public(thing: object) -> list[str]:
    return sorted(name for name in dir(thing) if not name.startswith("_"))


def test_all_is_pinned() -> None:
    assert set(sy.__all__) == PUBLIC
    assert all(hasattr(sy, name) for name in sy.__all__)
    assert dir(sy) == sorted(PUBLIC)  # what `sy.<TAB>` offers: no Any, threading or datetime


@pytest.mark.parametrize("name", sorted(METHODS))
def test_the_methods_of_each_public_object_are_pinned(name: str) -> None:
    assert public(getattr(sy, name)) == METHODS[name]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_the_facades_are_typed_as_their_services(name: str) -> None:
    facade = getattr(sy, name)
    assert isinstance(facade, SERVICES[name])
    assert sy.__annotations__[name] in (SERVICES[name], SERVICES[name].__name__)  # what a type checker reads


def test_every_public_function_and_method_has_a_docstring() -> None:
    functions = [getattr(sy, name) for name in sy.__all__ if inspect.isfunction(getattr(sy, name))]
    methods = [getattr(getattr(sy, owner), name) for owner, names in METHODS.items() for name in names]
    things = [*functions, *methods]
    undocumented = [getattr(thing, "__qualname__", repr(thing)) for thing in things if not inspect.getdoc(thing)]
    assert len(functions) >= 10 and undocumented == []
    assert all(inspect.getdoc(getattr(sy, name)) for name in SERVICES)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_signature_help_shows_the_services_own_signatures_and_docstrings(name: str) -> None:
    # What Jupyter's Shift-Tab and IPython's `sy.models.set_alias?` show: inspect.signature and __doc__.
    for method in METHODS[name]:
        own = getattr(SERVICES[name], method)
        shown = getattr(getattr(sy, name), method)
        assert (
            list(inspect.signature(shown).parameters.values()) == list(inspect.signature(own).parameters.values())[1:]
        )
        assert inspect.signature(shown).return_annotation == inspect.signature(own).return_annotation
        assert shown.__doc__ == own.__doc__


def test_completion_offers_the_facades_methods() -> None:
    completer = rlcompleter.Completer({"sy": sy})
    assert completer.complete("sy.gate.ev", 0) == "sy.gate.evaluate("
    assert completer.complete("sy.gate.ev", 1) == "sy.gate.evaluate_many("
    assert completer.complete("sy.models.set_", 0) == "sy.models.set_alias("
    assert completer.complete("sy.datasets.reg", 0) == "sy.datasets.register("
    assert completer.complete("sy.da", 0) == "sy.datasets" and completer.complete("sy.da", 1) is None


def test_the_model_package_module_is_not_the_registry_facade() -> None:
    # shipyard.models was once both; importing one of its submodules then replaced sy.models.
    code = (
        "import importlib, shipyard as sy\n"
        "facade = sy.models\n"
        "for name in ('shipyard.packaging', 'shipyard.packaging.flavors', 'shipyard.packaging.package',"
        " 'shipyard.packaging.signature', 'shipyard.registry', 'shipyard.registry.service'):\n"
        "    importlib.import_module(name)\n"
        "import shipyard.packaging\n"
        "print(sy.models is facade, sy.models is not shipyard.packaging, type(sy.models).__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True", "DefaultModels"]
    with pytest.raises(ModuleNotFoundError, match=r"No module named 'shipyard\.models'"):
        __import__("shipyard.models")


def test_errors_subclass_the_matching_builtins_and_carry_exit_codes() -> None:
    assert issubclass(sy.NotFound, LookupError) and issubclass(sy.InvalidInput, ValueError)
    assert sy.GateBlocked.exit_code == 1 and sy.InvalidInput.exit_code == 2
    assert (sy.NotFound.http_status, sy.InvalidInput.http_status, sy.Conflict.http_status) == (404, 422, 409)


def test_import_shipyard_loads_nothing_heavy() -> None:
    code = (
        "import sys, shipyard, shipyard.data.service, shipyard.registry.service, shipyard.gates.service\n"
        "heavy = {'sqlalchemy', 'alembic', 'fsspec', 'psycopg', 'typer', 'rich', 'pandas', 'ray', 'fastapi',"
        " 'starlette', 'numpy', 'pyarrow', 'sklearn', 'scipy', 'uvicorn', 'httpx'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
