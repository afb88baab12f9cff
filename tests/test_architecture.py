"""The import rules of DESIGN.md ("dependencies point down only") and STYLE.md 12, read from the source.

Every module under ``src/shipyard`` is parsed (nothing is imported), and every import statement in it is
found: at module level, inside functions (lazy imports, kept lazy so that ``import shipyard`` stays light)
and under ``if TYPE_CHECKING:``; ``from . import x`` is resolved against the module's package, and a plug-in
table's ``"shipyard.x.y:Object"`` string counts as the import it stands for. The rules:

1. The package root ``shipyard/__init__.py``, with any module beside it (``shipyard/_name.py``), is the
   facade, the top layer: no module of a layer imports it (``import shipyard``, ``from shipyard import …``,
   or ``shipyard.<name>`` on a name bound by ``import shipyard.x``), except ``FACADE_USERS``. The one
   lasting entry there is the demo's pipeline file, which is not library code: ``shipyard demo`` copies it
   into the demo folder, where it is the user's own ``pipelines.py``, and user code is what the facade is
   for. ``cli`` is an entry point too, but everything it needs has a home below the facade, so it imports
   from there like every other package.
2. ``LAYERS`` names exactly the packages that exist, and a module imports its own layer or lower ones. Every
   kind of import counts: a lazy or annotation-only import of a higher layer is still a dependency that
   points up (the module cannot be read, type-checked or moved without the layer above).
3. No import cycle between modules. Module-level and function-level imports count: a lazy import that
   closes a cycle only hides it from the interpreter, the two modules still need each other. Imports under
   ``TYPE_CHECKING`` do not count: they never run, and the pairs they join are an object typed by its owner
   (a ``Run`` annotated with the ``Client`` that makes it, a ``Check`` with the ``GateContext`` it is run
   in), which a cycle rule over them would only push into ``Protocol`` copies of the same classes. Rule 2
   still holds for them, so they never point up. (The imports rule 1 allows, of the facade, are left out.)
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "shipyard"
FACADE = "shipyard"
FACADE_USERS = {"shipyard.demo.pipelines_template"}
LAYERS = {
    "core": 0,
    "store": 1,
    "artifacts": 1,
    "backends": 1,
    "client": 1,
    "tracking": 2,
    "data": 2,
    "packaging": 2,
    "registry": 2,
    "gates": 3,
    "serving": 4,
    "monitoring": 4,
    "pipelines": 4,
    "cli": 5,
    "server": 5,
    "demo": 5,
}
_PLUGIN = re.compile(r"(shipyard(?:\.\w+)+):\w+")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the module imported (a package stands for its __init__)
    line: int
    kind: str  # "module", "function", "type-checking" or "plugin"

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target} ({self.kind})"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def resolve(name: str) -> str | None:
    """The module ``name`` is or lies in (``shipyard.gates.metrics.auc`` → ``shipyard.gates.metrics``)."""
    parts = name.split(".")
    while parts and ".".join(parts) not in modules():
        parts.pop()
    return ".".join(parts) or None


class _Finder(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool) -> None:
        self.module, self.is_package = module, is_package
        self.kind = "module"
        self.found: list[Import] = []
        self.bound_root: list[int] = []  # lines of ``import shipyard.x``, which binds the name ``shipyard``

    def _add(self, name: str, line: int, kind: str | None = None) -> None:
        target = resolve(name)
        if target is not None and target != self.module:
            self.found.append(Import(self.module, target, line, kind or self.kind))

    def _visit_in(self, kind: str, nodes: list[ast.stmt]) -> None:
        outer, self.kind = self.kind, kind
        for node in nodes:
            self.visit(node)
        self.kind = outer

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._visit_in("function" if self.kind == "module" else self.kind, node.body)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.visit_FunctionDef(node)

    def visit_If(self, node: ast.If) -> None:
        test = ast.unparse(node.test)
        if test in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            self._visit_in("type-checking", node.body)
            self._visit_in(self.kind, node.orelse)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name == FACADE or alias.name.startswith(FACADE + "."):
                self._add(alias.name, node.lineno)
                if alias.asname is None and alias.name != FACADE:
                    self.bound_root.append(node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            package = self.module.split(".") if self.is_package else self.module.split(".")[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        if base != FACADE and not base.startswith(FACADE + "."):
            return
        for alias in node.names:
            # ``from shipyard.gates import checks`` imports the module ``shipyard.gates.checks``.
            submodule = f"{base}.{alias.name}"
            self._add(submodule if submodule in modules() else base, node.lineno)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        # ``import shipyard.tracking`` binds ``shipyard``: ``shipyard._client()`` would then reach the facade.
        named = isinstance(node.value, ast.Name) and node.value.id == FACADE
        if self.bound_root and named and f"{FACADE}.{node.attr}" not in modules():
            self.found.append(Import(self.module, FACADE, node.lineno, self.kind))
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and (match := _PLUGIN.fullmatch(node.value)):
            self._add(match.group(1), node.lineno, "plugin")


@cache
def imports() -> tuple[Import, ...]:
    found: list[Import] = []
    for name, path in modules().items():
        finder = _Finder(name, path.name == "__init__.py")
        finder.visit(ast.parse(path.read_text(), str(path)))
        found += finder.found
    return tuple(found)


def is_facade(module: str) -> bool:
    """The package root, or a module beside it (``shipyard/_defaults.py``), not in any layer's package."""
    return module == FACADE or modules()[module].parent == ROOT


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def packages() -> set[str]:
    return {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}


def cycles(edges: dict[str, set[str]]) -> Iterator[tuple[frozenset[str], list[str]]]:
    """Each strongly connected group of modules (Tarjan, iterative), with one cycle through it: ``[a, b, …, a]``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    yield frozenset(group), _path_within(group, edges)


def _path_within(group: set[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest cycle through the group's first module (breadth-first back to it)."""
    start = min(group)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(edges.get(node, set()) & group):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if child not in came_from:
                    came_from[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"{sorted(group)} is not a cycle")


# --- the rules ---------------------------------------------------------------------------------------------
def test_the_layer_table_names_exactly_the_packages_that_exist() -> None:
    assert packages() == set(LAYERS), (
        f"packages without a layer: {sorted(packages() - set(LAYERS))}; "
        f"layers naming no package: {sorted(set(LAYERS) - packages())}"
    )


def test_no_module_inside_the_package_imports_the_facade() -> None:
    offending = [
        str(i) for i in imports() if is_facade(i.target) and not is_facade(i.source) and i.source not in FACADE_USERS
    ]
    assert offending == [], "Import from the module that defines the name, not from the facade:\n" + "\n".join(
        offending
    )
    assert set(modules()) >= FACADE_USERS, "FACADE_USERS names a module that does not exist"


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = [
        str(i)
        for i in imports()
        if (source := layer_of(i.source)) in LAYERS
        and (target := layer_of(i.target)) in LAYERS
        and LAYERS[target] > LAYERS[source]
    ]
    assert upward == [], "Dependencies point down only (DESIGN.md):\n" + "\n".join(upward)


def test_no_import_cycle_between_modules() -> None:
    edges: dict[str, set[str]] = {}
    for i in imports():
        if i.kind in ("module", "function") and not (is_facade(i.target) and i.source in FACADE_USERS):
            edges.setdefault(i.source, set()).add(i.target)
    found = [" -> ".join(path) for _, path in cycles(edges)]
    assert found == [], "Import cycles (break each by moving what both sides need below them):\n" + "\n".join(found)


# --- the finder itself, on small sources ----------------------------------------------------------------------
def _imports_of(source: str, module: str = "shipyard.gates.example", is_package: bool = False) -> set[str]:
    finder = _Finder(module, is_package)
    finder.visit(ast.parse(source))
    return {f"{i.target} {i.kind}" for i in finder.found}


def test_the_finder_sees_every_form_of_import() -> None:
    source = """
from typing import TYPE_CHECKING
import shipyard
from shipyard import gates
from . import stats
from ..core import errors
if TYPE_CHECKING:
    from shipyard.tracking.run import Run
def f():
    import shipyard.serving.app as app
    TABLE = {"x": "shipyard.monitoring.rules:Rule"}
"""
    assert _imports_of(source) == {
        "shipyard module",
        "shipyard.gates module",
        "shipyard.gates.stats module",
        "shipyard.core.errors module",
        "shipyard.tracking.run type-checking",
        "shipyard.serving.app function",
        "shipyard.monitoring.rules plugin",
    }


def test_the_finder_sees_the_facade_reached_through_a_subpackage_import() -> None:
    assert _imports_of("import shipyard.tracking\nshipyard._client()\n") == {
        "shipyard.tracking module",
        "shipyard module",
    }
    assert _imports_of("import shipyard.tracking\nshipyard.tracking.Client()\n") == {"shipyard.tracking module"}


def test_a_cycle_is_reported_as_a_path() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert list(cycles(edges)) == [(frozenset("abc"), ["a", "b", "c", "a"])]


def test_the_facade_is_the_package_root_and_the_modules_beside_it() -> None:
    assert is_facade("shipyard")
    assert not is_facade("shipyard.gates") and not is_facade("shipyard.gates.metrics")
