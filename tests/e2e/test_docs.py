"""The Python blocks of the README and the guides run, in order, as a user would paste them."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PAGES = [
    "README.md",
    "docs/tracking.md",
    "docs/datasets.md",
    "docs/registry.md",
    "docs/gate.md",
    "docs/pipelines.md",
    "docs/serving.md",
    "docs/monitoring.md",
    "docs/drift.md",
    "docs/python-api.md",
    "docs/notebooks.md",
]


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.DOTALL)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_the_python_blocks_of_a_page_run(page: str, tmp_path: Path) -> None:
    blocks = python_blocks(ROOT / page)
    assert blocks, f"{page} has no python blocks"
    (tmp_path / "roc.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "a.html").write_text("<p>report</p>")
    (tmp_path / "doc.py").write_text("\n".join(blocks))
    done = subprocess.run(
        [sys.executable, "doc.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
