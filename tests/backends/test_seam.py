"""The backend seam holds: domain code sees only the protocols, and LocalBackend implements all of them."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

import shipyard
from shipyard.backends import Backend, protocol
from shipyard.backends.local import LocalBackend, open_local
from shipyard.core.config import Settings

ROOT = Path(shipyard.__file__).parent
DOMAIN_AND_RUNTIME = ("tracking", "data", "packaging", "registry", "gates", "serving", "monitoring", "pipelines")
ENTRY_POINTS = ("cli", "demo")
FORBIDDEN = ("shipyard.store", "shipyard.backends.local", "shipyard.backends.schema")
FACTORIES = {"cli/maintenance.py": {"shipyard.backends.schema"}}
"""The only modules above the seam that may reach a concrete backend: ``shipyard db`` upgrades a local schema."""


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """Every module an import statement anywhere in the file names (``from a import b`` gives a and a.b)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)


def is_forbidden(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in FORBIDDEN)


def test_domain_and_runtime_code_imports_no_concrete_backend() -> None:
    found = []
    for package in DOMAIN_AND_RUNTIME + ENTRY_POINTS:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            allowed = FACTORIES.get(relative, set())
            found += [
                f"{relative}:{line} imports {module}"
                for line, module in imported_modules(path)
                if is_forbidden(module) and not any(module.startswith(a) for a in allowed)
            ]
    assert found == []


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from shipyard import store\n    import shipyard.backends.local as b\n")
    assert [m for _, m in imported_modules(sample) if is_forbidden(m)] == ["shipyard.store", "shipyard.backends.local"]


def test_the_protocols_import_only_core() -> None:
    modules = {m for _, m in imported_modules(Path(protocol.__file__)) if m.startswith("shipyard")}
    assert modules and all(m.startswith("shipyard.core") for m in modules)


def test_importing_the_protocols_loads_no_database_code() -> None:
    code = (
        "import sys, shipyard.backends.protocol\n"
        "print(sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'shipyard.store'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# LocalBackend implements every protocol --------------------------------------------------------------

PARTS = {
    name: typing.get_type_hints(member.fget, vars(protocol))["return"]
    for name, member in vars(Backend).items()
    if isinstance(member, property) and name not in ("metadata_location", "gate_server")
}


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBackend]:
    folder = tmp_path_factory.mktemp("seam")
    made = open_local(Settings.load(cwd=folder, environ={}, uri=str(folder / ".shipyard")))
    yield made
    made.close()


def methods(cls: type) -> dict[str, typing.Any]:
    return {n: m for n, m in vars(cls).items() if not n.startswith("_") and (callable(m) or isinstance(m, property))}


def spelled(annotation: object) -> str:
    return str(annotation).replace("builtins.", "")


def incompatible(expected: inspect.Signature, actual: inspect.Signature) -> list[str]:
    """What stops a call written against ``expected`` from working on ``actual`` (names, kinds, defaults, types)."""
    problems = []
    params = actual.parameters
    for name, want in expected.parameters.items():
        got = params.get(name)
        if got is None:
            if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
                problems.append(f"no parameter {name!r}")
            continue
        if got.kind != want.kind:
            problems.append(f"{name!r} is {got.kind.description}, expected {want.kind.description}")
        if want.default is not want.empty and got.default != want.default:
            problems.append(f"{name!r} defaults to {got.default!r}, expected {want.default!r}")
        if spelled(got.annotation) != spelled(want.annotation):
            problems.append(f"{name!r} is typed {got.annotation}, expected {want.annotation}")
    variadic = (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    extra = [p for n, p in params.items() if n not in expected.parameters and p.kind not in variadic]
    problems += [f"extra parameter {p.name!r} has no default" for p in extra if p.default is p.empty]
    if spelled(actual.return_annotation) != spelled(expected.return_annotation):
        problems.append(f"returns {actual.return_annotation}, expected {expected.return_annotation}")
    return problems


def test_every_part_of_the_backend_is_a_protocol_of_the_seam() -> None:
    assert set(PARTS) == {
        "store",
        "datasets",
        "registry",
        "verdicts",
        "policies",
        "pipelines",
        "schedules",
        "predictions",
        "monitors",
        "canaries",
        "loops",
        "blobs",
        "accounts",
    }
    assert all(getattr(part, "_is_protocol", False) for part in PARTS.values())


@pytest.mark.parametrize("part", sorted(PARTS))
def test_local_backend_implements_every_method_with_a_compatible_signature(local: LocalBackend, part: str) -> None:
    implementation = getattr(local, part)
    problems = []
    for name, member in methods(PARTS[part]).items():
        if isinstance(member, property):
            if not hasattr(implementation, name):
                problems.append(f"{part}.{name}: missing")
            continue
        found = getattr(type(implementation), name, None)
        if not callable(found):
            problems.append(f"{part}.{name}: missing")
            continue
        problems += [f"{part}.{name}: {p}" for p in incompatible(inspect.signature(member), inspect.signature(found))]
    assert problems == []


def test_local_backend_has_the_backends_own_methods(local: LocalBackend) -> None:
    assert {n for n in methods(Backend) if n not in PARTS} == {
        "metadata_location",
        "gate_server",
        "after_fork",
        "close",
    }
    assert local.metadata_location.startswith("sqlite:///")
    assert local.gate_server is None  # the gate runs in this process
    local.after_fork()  # the pool starts afresh; the store still answers
    assert local.store.list_projects() == []


def test_the_signature_check_catches_a_drifted_method() -> None:
    def expected(self: object, project: str, *, limit: int = 100) -> list[str]: ...
    def renamed(self: object, project: str, *, count: int = 100) -> list[str]: ...
    def required_extra(self: object, project: str, other: str, *, limit: int = 100) -> list[str]: ...
    def other_default(self: object, project: str, *, limit: int = 50) -> list[str]: ...

    want = inspect.signature(expected)
    assert incompatible(want, inspect.signature(renamed)) == ["no parameter 'limit'"]
    assert incompatible(want, inspect.signature(required_extra)) == ["extra parameter 'other' has no default"]
    assert incompatible(want, inspect.signature(other_default)) == ["'limit' defaults to 50, expected 100"]
