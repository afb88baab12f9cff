"""Every example the docs point at runs, start to finish, in a fresh folder."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import shipyard as sy

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.slow
def test_quickstart_runs_and_leaves_runs_datasets_and_models(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "quickstart.py", tmp_path)
    shutil.copy(EXAMPLES / "shipyard.toml", tmp_path)
    done = subprocess.run(
        [sys.executable, "quickstart.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert "champion refused before the gate ran" in done.stdout
    assert "is now champion" in done.stdout
    client = sy.Client(str(tmp_path / ".shipyard"))
    runs = client.search_runs(project="churn", filter="attributes.status = 'finished'")
    assert len(runs) == 4
    children = [r for r in runs if r.parent_id is not None]
    assert len(children) == 3 and all(len(client.list_artifacts(r.id)) == 1 for r in children)
    challenger = client.models.get("churn@challenger", project="churn")
    assert challenger.aliases == ("challenger", "champion")
    assert challenger.run_id in {r.id for r in children}
    assert [v.version for v in client.models.versions("churn", project="churn")] == [3, 2, 1]
    assert dict(challenger.datasets) == {"train": "churn-train@1", "eval": "churn-valid@1"}
    client.close()
