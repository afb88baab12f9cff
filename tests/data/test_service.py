"""Dataset versions through a client, on SQLite and PostgreSQL."""

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import shipyard as sy

pytestmark = pytest.mark.over_http  # this suite also runs on the HTTP backend (tests/conftest.py)


def table(n: int = 50, shift: int = 0) -> pa.Table:
    return pa.table({"tenure": list(range(shift, n + shift)), "plan": ["basic", "pro"] * (n // 2)})


def test_registering_numbers_versions_and_the_same_content_is_one_version(client: sy.Client, tmp_path: Path) -> None:
    first = client.datasets.register("churn", table())
    pq.write_table(table(), tmp_path / "same.parquet")
    again = client.datasets.register("churn", tmp_path / "same.parquet")
    second = client.datasets.register("churn", table(shift=1))
    assert (first.version, again.version, second.version) == (1, 1, 2)
    assert again.digest == first.digest != second.digest
    assert [v.version for v in client.datasets.versions("churn")] == [2, 1]


def test_a_version_keeps_its_schema_profile_and_rows(client: sy.Client) -> None:
    version = client.datasets.register("churn", table(), description="first cut")
    fetched = client.datasets.get("churn@1")
    assert fetched == version
    assert fetched.columns == ["tenure", "plan"]
    assert (fetched.rows, fetched.description) == (50, "first cut")
    assert fetched.profile["rows"] == 50


@pytest.mark.local_only("damages the blob in the local artifact folder; over HTTP the server's blobs are its own")
def test_loading_returns_the_canonical_table_and_verifies_the_blob(client: sy.Client) -> None:
    version = client.datasets.register("churn", table())
    assert (
        client.datasets.load("churn@1").to_pydict()
        == table().cast(pa.schema([("tenure", pa.int64()), ("plan", pa.large_string())])).to_pydict()
    )
    blob = Path(client.settings.artifacts) / "blobs" / version.blob_digest[7:9] / version.blob_digest[7:]
    blob.write_bytes(blob.read_bytes()[:-10])
    with pytest.raises(sy.CorruptArtifact):
        client.datasets.load("churn")


def test_unknown_names_and_versions_list_what_exists(client: sy.Client) -> None:
    client.datasets.register("churn", table())
    with pytest.raises(sy.NotFound, match="its versions are 1"):
        client.datasets.get("churn@4")
    with pytest.raises(sy.NotFound, match="Datasets there: churn"):
        client.datasets.get("chrun")


@pytest.mark.parametrize("ref", ["churn@champion", "churn@0", "@1", ""])
def test_malformed_references_are_invalid_input(client: sy.Client, ref: str) -> None:
    with pytest.raises(sy.InvalidInput):
        client.datasets.get(ref)


def test_bad_tables_are_refused_and_nothing_is_stored(client: sy.Client) -> None:
    with pytest.raises(sy.InvalidInput, match="row"):
        client.datasets.register("empty", pa.table({"a": pa.array([], pa.int64())}))
    with pytest.raises(sy.InvalidInput, match="nested"):
        client.datasets.register("nested", pa.table({"a": [[1], [2]]}))
    assert client.datasets.list() == []
    assert list(client.backend.blobs.iter_blobs()) == []


def test_runs_record_the_datasets_they_use_and_lineage_finds_them(client: sy.Client) -> None:
    train = client.datasets.register("churn", table())
    with client.start_run(name="fit") as run:
        run.use_dataset(train, role="train")
        run.use_dataset("churn@1", role="eval")
    lineage = client.lineage(train)
    assert sorted(role for role, _ in lineage.runs) == ["eval", "train"]
    assert {r.name for _, r in lineage.runs} == {"fit"}


def test_a_finished_run_takes_no_more_datasets(client: sy.Client) -> None:
    train = client.datasets.register("churn", table())
    with client.start_run() as run:
        pass
    with pytest.raises(sy.Conflict):
        run.use_dataset(train)


def test_gc_keeps_dataset_blobs(client: sy.Client) -> None:
    client.datasets.register("churn", table())
    assert client.gc(grace=0).removed == []
    assert client.datasets.load("churn").num_rows == 50


def test_floats_with_infinities_register_without_warnings_and_count_them(client: sy.Client) -> None:
    version = client.datasets.register("odd", {"x": [1.0, float("inf"), float("-inf"), float("nan"), 2.0]})
    column = version.profile["columns"][0]
    assert (column["count"], column["nulls"], column["infinite"], column["quantiles"]["0.5"]) == (4, 1, 2, 1.5)
    assert sum(column["histogram"]["counts"]) == 2
