"""A user's script type-checks against the public API as written: real types, not ``Any``, and mistakes caught.

mypy runs once (strict, as a careful user would run it) over the script below. Each ``reveal_type`` line
says, after ``# reveals:``, the type mypy must reveal; each line ending ``# error: CODE, …`` must give
exactly those errors; no other line may give one.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
from mypy import api

import shipyard

SCRIPT = """
import shipyard as sy

reveal_type(sy.gate)  # reveals: shipyard.gates.service.Gate
reveal_type(sy.models)  # reveals: shipyard.registry.service.Models
reveal_type(sy.datasets)  # reveals: shipyard.data.service.Datasets

with sy.start_run(project="churn", name="gbm") as run:
    reveal_type(run)  # reveals: shipyard.tracking.run.Run
    run.log_metric("auc", 0.91, step=3)
page = sy.search_runs(project="churn", filter="metrics.auc > 0.9", include_deleted=True)
reveal_type(page)  # reveals: shipyard.core.entities.RunPage
reveal_type(page.next_page_token)  # reveals: str | None
reveal_type(sy.get_run(page[0].id))  # reveals: shipyard.core.entities.RunRecord

train = sy.datasets.register("churn-train", "train.parquet")
reveal_type(train)  # reveals: shipyard.core.entities.DatasetVersion
reveal_type(sy.datasets.get("churn-train@1"))  # reveals: shipyard.core.entities.DatasetVersion

verdict = sy.gate.evaluate("churn@3", data=train)
reveal_type(verdict)  # reveals: shipyard.gates.verdict.Verdict
reveal_type(verdict.passed)  # reveals: bool
reveal_type(sy.models.set_alias("churn", 3, "champion"))  # reveals: shipyard.core.entities.ModelVersion
reveal_type(sy.models.get("churn@champion"))  # reveals: shipyard.core.entities.ModelVersion
reveal_type(sy.models.load("churn@champion"))  # reveals: shipyard.packaging.package.LoadedModel
reveal_type(sy.lineage("churn@champion"))  # reveals: shipyard.registry.lineage.ModelLineage
reveal_type(sy.lineage(train))  # reveals: shipyard.registry.lineage.DatasetLineage
reveal_type(sy.lineage("churn-train@1", kind="dataset"))  # reveals: shipyard.registry.lineage.DatasetLineage

sy.models.set_alias("churn", "3", 3)  # error: arg-type, arg-type
sy.models.set_alais("churn", 3, "champion")  # error: attr-defined
sy.gate.evaluate(3)  # error: arg-type
sy.search_runs(include_delted=True)  # error: call-arg
sy.datasets.register("churn-train")  # error: call-arg
sy.datasets.load(3)  # error: arg-type
sy.lineage("churn@champion").runs  # error: attr-defined
run.log_metric("auc", "high")  # error: arg-type
"""
# (datasets.load returns a pyarrow.Table, which is Any to mypy: pyarrow ships no type information.)

OUTPUT = re.compile(r"^(?:.*/)?user\.py:(\d+): (note|error): (.*)$")
ByLine = dict[int, list[str]]


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> tuple[ByLine, ByLine, str]:
    """mypy's revealed types and error codes by line of SCRIPT, and its whole output."""
    folder = tmp_path_factory.mktemp("typing")
    (folder / "user.py").write_text(SCRIPT)
    source = Path(shipyard.__file__).parents[1]  # this checkout's shipyard, not another installed one
    (folder / "mypy.ini").write_text(f"[mypy]\nstrict = True\nmypy_path = {source}\n")
    out, err, _status = api.run(
        ["--config-file", str(folder / "mypy.ini"), "--cache-dir", str(folder / "cache"), str(folder / "user.py")]
    )
    assert err == "", err
    revealed: ByLine = defaultdict(list)
    errors: ByLine = defaultdict(list)
    for line in out.splitlines():
        found = OUTPUT.match(line)
        if found is None:
            continue
        number, kind, message = int(found[1]), found[2], found[3]
        if kind == "note" and message.startswith("Revealed type is "):
            revealed[number].append(message.removeprefix("Revealed type is ").strip('"'))
        elif kind == "error":
            errors[number].append(message.rsplit("[", 1)[1].rstrip("]"))
    return revealed, errors, out


def expected(marker: str) -> ByLine:
    """What the script's ``# reveals: TYPE`` or ``# error: CODE, …`` comments ask for, by line."""
    found: ByLine = {}
    for number, line in enumerate(SCRIPT.splitlines(), start=1):
        if f"# {marker}: " in line:
            text = line.split(f"# {marker}: ", 1)[1]
            found[number] = [text] if marker == "reveals" else text.split(", ")
    return found


@pytest.mark.slow
def test_the_public_api_reveals_its_real_types(checked: tuple[ByLine, ByLine, str]) -> None:
    revealed, _, out = checked
    assert dict(revealed) == expected("reveals"), out


@pytest.mark.slow
def test_wrong_calls_are_type_errors_and_right_ones_are_not(
    checked: tuple[ByLine, ByLine, str],
) -> None:
    _, errors, out = checked
    assert dict(errors) == expected("error"), out
