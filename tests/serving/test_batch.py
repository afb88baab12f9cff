from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from rich.console import Console
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner, Result

import shipyard
from shipyard.cli import predict
from shipyard.cli.main import app
from shipyard.core.errors import InvalidInput, NotFound
from shipyard.serving.batch import Progress, predict_file

if not any(command.name == "predict" for command in app.registered_commands):
    predict.register(app)  # until main.py registers it itself

ROWS = 10_000


def recorder() -> tuple[list[tuple[int, int | None]], Progress]:
    """A progress callback, and the list of its calls."""
    seen: list[tuple[int, int | None]] = []
    return seen, lambda done, total: seen.append((done, total))


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"age": rng.uniform(18, 80, ROWS), "spend": rng.uniform(0, 10, ROWS)})
    return df.assign(customer=[f"c{i}" for i in range(ROWS)])


@pytest.fixture
def model(frame: pd.DataFrame) -> LogisticRegression:
    features = frame[["age", "spend"]]
    return LogisticRegression().fit(features, (features.age / 10 + features.spend > 9).astype(int))


@pytest.fixture
def client(tmp_path: Path, model: LogisticRegression, frame: pd.DataFrame) -> Iterator[shipyard.Client]:
    made = shipyard.Client(str(tmp_path / ".shipyard"), capture_environment=False, cwd=tmp_path)
    made.models.log(model, "churn", train_data=frame[["age", "spend"]], project="p")
    yield made
    made.close()


@pytest.fixture
def big(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "big.parquet"
    frame.to_parquet(path)
    return path


def test_parquet_scored_in_chunks_equals_predicting_the_whole_frame(
    client: shipyard.Client, model: LogisticRegression, frame: pd.DataFrame, big: Path, tmp_path: Path
) -> None:
    result = predict_file(client, "churn", big, tmp_path / "scored.parquet", chunk_rows=1000, project="p")
    scored = pd.read_parquet(tmp_path / "scored.parquet")
    assert (result.model, result.rows, result.chunks) == ("churn@1", ROWS, 10)
    assert list(scored.columns) == ["age", "spend", "customer", "prediction"]
    np.testing.assert_array_equal(scored["prediction"], model.predict(frame[["age", "spend"]]))
    assert scored["customer"].tolist() == frame["customer"].tolist()


def test_rows_are_read_and_scored_one_chunk_at_a_time(client: shipyard.Client, big: Path, tmp_path: Path) -> None:
    seen, record = recorder()
    predict_file(client, "churn", big, tmp_path / "out.parquet", chunk_rows=3000, project="p", progress=record)
    assert seen == [(0, ROWS), (3000, ROWS), (6000, ROWS), (9000, ROWS), (ROWS, ROWS)]


def test_csv_in_csv_out(
    client: shipyard.Client, model: LogisticRegression, frame: pd.DataFrame, tmp_path: Path
) -> None:
    frame.to_csv(tmp_path / "in.csv", index=False)
    seen, record = recorder()
    result = predict_file(
        client, "churn", tmp_path / "in.csv", tmp_path / "out.csv", chunk_rows=4000, project="p", progress=record
    )
    scored = pd.read_csv(tmp_path / "out.csv")
    assert (result.rows, result.chunks, seen[-1]) == (ROWS, 3, (ROWS, None))  # a CSV's length is unknown upfront
    np.testing.assert_array_equal(scored["prediction"], model.predict(frame[["age", "spend"]]))


def test_proba_and_keep_columns(client: shipyard.Client, model: LogisticRegression, big: Path, tmp_path: Path) -> None:
    predict_file(client, "churn", big, tmp_path / "out.pq", proba=True, keep_columns=["customer"], project="p")
    scored = pd.read_parquet(tmp_path / "out.pq")
    assert list(scored.columns) == ["customer", "prediction", "proba_0", "proba_1"]
    np.testing.assert_allclose(scored[["proba_0", "proba_1"]].sum(axis=1), 1.0)


def test_strings_in_a_numeric_csv_column_name_the_row_and_column(
    client: shipyard.Client, frame: pd.DataFrame, tmp_path: Path
) -> None:
    bad = frame.astype({"spend": object})
    bad.loc[7_321, "spend"] = "n/a?"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(InvalidInput, match=r"at row 7,321 .*column 'spend'.*'n/a\?'"):
        predict_file(client, "churn", tmp_path / "bad.csv", tmp_path / "out.csv", chunk_rows=1000, project="p")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".shipyard", "bad.csv"]


def test_a_failing_chunk_names_its_rows_and_leaves_the_old_output(
    client: shipyard.Client, frame: pd.DataFrame, tmp_path: Path
) -> None:
    frame.assign(age=frame["age"].where(frame.index != 4_500)).to_parquet(tmp_path / "nulls.parquet")
    (tmp_path / "out.parquet").write_text("yesterday's scores")
    with pytest.raises(InvalidInput, match=r"(?s)rows 4,000\u20134,999 .*'age': has 1 null"):
        predict_file(
            client, "churn", tmp_path / "nulls.parquet", tmp_path / "out.parquet", chunk_rows=1000, project="p"
        )
    assert (tmp_path / "out.parquet").read_text() == "yesterday's scores"
    assert not list(tmp_path.glob(".out.parquet.*"))


def test_columns_the_model_lacks_fail_before_any_chunk(
    client: shipyard.Client, frame: pd.DataFrame, tmp_path: Path
) -> None:
    frame.drop(columns="spend").astype({"age": str}).to_parquet(tmp_path / "in.parquet")
    seen, record = recorder()
    with pytest.raises(
        InvalidInput, match=r"(?s)2 problems.*'age': is string in the file, expected float.*'spend': is missing"
    ):
        predict_file(client, "churn", tmp_path / "in.parquet", tmp_path / "o.csv", project="p", progress=record)
    assert seen == []


def test_missing_file_and_unknown_extensions(client: shipyard.Client, big: Path, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"nope\.parquet' is not there"):
        predict_file(client, "churn", tmp_path / "nope.parquet", tmp_path / "out.csv", project="p")
    with pytest.raises(InvalidInput, match=r"input file .*in\.json'.*\.parquet, \.pq, \.csv"):
        predict_file(client, "churn", tmp_path / "in.json", tmp_path / "out.csv", project="p")
    with pytest.raises(InvalidInput, match=r"output file .*out\.xlsx'"):
        predict_file(client, "churn", big, tmp_path / "out.xlsx", project="p")


def invoke(client: shipyard.Client, *args: str) -> Result:
    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
    return runner.invoke(app, ["--uri", client.settings.uri, "predict", *args, "--project", "p"])


def test_cli_scores_a_file(client: shipyard.Client, big: Path, tmp_path: Path) -> None:
    result = invoke(
        client, "churn@1", str(big), str(tmp_path / "out.csv"), "--chunk-rows", "2500", "--columns", "customer"
    )
    assert result.exit_code == 0, result.output
    assert "Scored 10,000 rows with churn@1 in 4 chunks" in result.stdout
    assert pd.read_csv(tmp_path / "out.csv").columns.tolist() == ["customer", "prediction"]


def test_cli_json_and_bad_input(client: shipyard.Client, big: Path, tmp_path: Path) -> None:
    ok = invoke(client, "churn", str(big), str(tmp_path / "out.parquet"), "--proba", "--json")
    assert ok.exit_code == 0, ok.output
    assert '"rows": 10000' in ok.stdout and pq.read_schema(tmp_path / "out.parquet").names[-1] == "proba_1"
    bad = invoke(client, "churn", str(tmp_path / "scores.txt"), str(tmp_path / "out.csv"))
    assert bad.exit_code == 2
    assert "error: The input file" in bad.stderr and ".parquet, .pq, .csv" in bad.stderr


def test_progress_bar_draws_rows_on_a_terminal() -> None:
    out = io.StringIO()
    with predict.progress_bar(Console(file=out, force_terminal=True, width=120)) as progress:
        assert progress is not None
        progress(1000, 4000)
    assert "1,000 / 4,000 rows" in out.getvalue()
    with predict.progress_bar(Console(file=io.StringIO(), force_terminal=False)) as hidden:
        assert hidden is None


def test_an_unknown_kept_column_is_refused_with_a_suggestion(
    client: shipyard.Client, big: Path, tmp_path: Path
) -> None:
    with pytest.raises(
        InvalidInput, match=r"'custmer' \(did you mean 'customer'\?\).*Its columns: age, spend, customer"
    ):
        predict_file(client, "churn", big, tmp_path / "out.csv", keep_columns=["custmer"], project="p")
