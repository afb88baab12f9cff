"""``shipyard predict`` from the command line; the scoring itself is tested in tests/serving/test_batch.py."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import shipyard
from tests.cli.helpers import Invoke

ROWS = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})


@pytest.fixture
def rows(store: shipyard.Client, tmp_path: Path) -> Path:
    with store.start_run() as run:
        run.log_model(LogisticRegression().fit(ROWS, [0, 0, 1, 1]), "churn", train_data=ROWS)
    path = tmp_path / "in.csv"
    ROWS.to_csv(path, index=False)
    return path


def test_scores_a_file(invoke: Invoke, rows: Path) -> None:
    result = invoke("predict", "churn@1", str(rows), str(rows.with_name("out.csv")))
    assert result.exit_code == 0, result.output
    assert pd.read_csv(rows.with_name("out.csv"))["prediction"].tolist() == [0, 0, 1, 1]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc, where not even root may create a file")
def test_an_output_folder_that_cannot_be_written_is_an_input_error(invoke: Invoke, rows: Path) -> None:
    result = invoke("predict", "churn@1", str(rows), "/proc/out.csv")
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: Cannot write the output into the folder '/proc': ")
    assert line.endswith("Give an OUTPUT in a folder you can write to.")
