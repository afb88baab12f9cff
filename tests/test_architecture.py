"""Dependencies point down only (DESIGN.md): a module may import its own layer or the ones below."""

import ast
from pathlib import Path

import shipyard

ROOT = Path(shipyard.__file__).parent
LAYERS = {
    "core": 0,
    "store": 1,
    "artifacts": 1,
    "client": 1,
    "backends": 1,
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


def shipyard_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("shipyard."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("shipyard.")}
    return found


def test_every_package_is_assigned_a_layer() -> None:
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(LAYERS)


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = []
    for path in ROOT.rglob("*.py"):
        package = path.relative_to(ROOT).parts[0]
        if package not in LAYERS:
            continue
        for imported in shipyard_imports(path):
            if imported in LAYERS and LAYERS[imported] > LAYERS[package]:
                upward.append(f"{path.relative_to(ROOT)} imports shipyard.{imported}")
    assert upward == []
