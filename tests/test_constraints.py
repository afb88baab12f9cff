"""The test environment is pinned: constraints.txt pins every requirement of Shipyard and its dev extra,
at a version pyproject.toml's ranges allow (`make lock` rewrites it; README.md says when)."""

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def pins() -> dict[str, Version]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    entries = [line.split("==") for line in lines if line.strip() and not line.startswith("#")]
    assert all(len(entry) == 2 for entry in entries), "every line of constraints.txt is name==version"
    return {canonicalize_name(name): Version(version) for name, version in entries}


def test_every_requirement_of_the_dev_install_is_pinned_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned = pins()
    for raw in [*project["dependencies"], *project["optional-dependencies"]["dev"]]:
        requirement = Requirement(raw)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement.name} is not pinned in constraints.txt; run make lock"
        assert pinned[name] in requirement.specifier, f"constraints.txt pins {name} {pinned[name]}, outside {raw}"
