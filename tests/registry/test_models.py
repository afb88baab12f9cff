"""Logging real models from runs, loading them back, and lineage."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import shipyard as sy


@pytest.fixture
def data() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"tenure": rng.integers(0, 72, 200), "calls": rng.integers(0, 9, 200)})
    df["churned"] = (df["calls"] * 8 - df["tenure"] > 0).astype(int)
    return df


@pytest.fixture
def logged(client: sy.Client, data: pd.DataFrame) -> sy.ModelVersion:
    train = client.datasets.register("churn-train", data)
    with client.start_run(name="fit") as run:
        run.use_dataset(train)
        clf = LogisticRegression().fit(data[["tenure", "calls"]], data["churned"])
        return run.log_model(clf, "churn", train_data=train, tags={"team": "risk"})


def test_a_logged_model_loads_and_predicts_like_the_original(
    client: sy.Client, logged: sy.ModelVersion, data: pd.DataFrame
) -> None:
    features = data[["tenure", "calls"]]
    original = LogisticRegression().fit(features, data["churned"])
    model = client.models.load("churn@1")
    assert np.array_equal(model.predict(features), original.predict(features))
    assert np.allclose(model.predict_proba(features), original.predict_proba(features))
    assert (logged.flavor, logged.unsafe_format, logged.tags) == ("sklearn", False, {"team": "risk"})
    assert [c["name"] for c in logged.signature["inputs"]] == ["tenure", "calls"]


def test_predicting_with_wrong_columns_names_each_of_them(client: sy.Client, logged: sy.ModelVersion) -> None:
    model = client.models.load("churn")
    with pytest.raises(sy.InvalidInput) as caught:
        model.predict(pd.DataFrame({"tenure": [1], "extra": [2]}))
    assert "'extra': is not an input" in str(caught.value)
    assert "'calls': is missing" in str(caught.value)
    with pytest.raises(sy.InvalidInput, match="tenure"):
        model.predict(pd.DataFrame({"tenure": ["long"], "calls": [2]}))
    with pytest.raises(sy.InvalidInput, match="'calls': has 1 null"):
        model.predict(pd.DataFrame({"tenure": [1, 2], "calls": [2, None]}))


def test_lineage_reaches_the_run_its_code_and_the_data(client: sy.Client, logged: sy.ModelVersion) -> None:
    lineage = client.lineage("churn@1")
    assert lineage.run is not None and lineage.run.name == "fit"
    assert [(role, d.ref) for role, d in lineage.trained_on] == [("train", "churn-train@1")]
    assert [(role, d.ref) for role, d in lineage.run_inputs] == [("train", "churn-train@1")]
    reverse = client.lineage("churn-train@1", kind="dataset")
    assert [(role, m.ref) for role, m in reverse.models] == [("train", "churn@1")]


def test_a_derived_version_names_its_parent(client: sy.Client, logged: sy.ModelVersion, data: pd.DataFrame) -> None:
    with client.start_run() as run:
        clf = LogisticRegression(C=0.5).fit(data[["tenure", "calls"]], data["churned"])
        child = run.log_model(clf, "churn", train_data="churn-train@1", parents=["churn@1"])
    assert child.parents == ("churn@1",)
    assert [p.ref for p in client.lineage(child).parents] == ["churn@1"]


@pytest.mark.local_only("damages a blob in the local artifact folder; over HTTP the blobs are the server's")
def test_an_altered_model_file_raises_corrupt_artifact(client: sy.Client, logged: sy.ModelVersion) -> None:
    [(_, digest, _)] = client.backend.registry.version_files(logged.id)
    blob = Path(client.settings.artifacts) / "blobs" / digest[7:9] / digest[7:]
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(sy.CorruptArtifact):
        client.models.load("churn@1")


def test_an_object_of_no_known_flavor_lists_the_flavors(client: sy.Client, data: pd.DataFrame) -> None:
    with client.start_run() as run, pytest.raises(sy.InvalidInput, match="python_function"):
        run.log_model(object(), "mystery", input_example=data.head())
    with pytest.raises(sy.NotFound):
        client.models.get("mystery")


class Threshold:
    def predict(self, table: pd.DataFrame) -> np.ndarray:
        return (np.asarray(table["calls"]) > 3).astype(int)


def test_pickled_models_are_unsafe_and_load_only_when_trusted(client: sy.Client, data: pd.DataFrame) -> None:
    with client.start_run() as run:
        version = run.log_model(Threshold(), "rule", flavor="python_function", input_example=data[["calls"]].head())
    assert version.unsafe_format
    with pytest.raises(sy.PermissionDenied, match="trust_unsafe"):
        client.models.load("rule@1")
    assert client.models.load("rule@1", trust_unsafe=True).predict(data[["calls"]].head()).tolist() == [
        int(c > 3) for c in data["calls"].head()
    ]


def test_logging_to_an_ended_run_is_a_conflict(client: sy.Client, data: pd.DataFrame) -> None:
    with client.start_run() as run:
        pass
    with pytest.raises(sy.Conflict):
        run.log_model(Threshold(), "rule", flavor="python_function", input_example=data[["calls"]].head())


def test_gc_keeps_model_packages(client: sy.Client, logged: sy.ModelVersion) -> None:
    assert client.gc(grace=0).removed == []
    assert client.models.load("churn@1").predict(pd.DataFrame({"tenure": [3], "calls": [7]})).tolist() == [1]


def test_lineage_shows_a_deleted_parent_as_deleted_and_drops_deleted_users(
    client: sy.Client, logged: sy.ModelVersion, data: pd.DataFrame
) -> None:
    with client.start_run() as run:
        clf = LogisticRegression(C=0.5).fit(data[["tenure", "calls"]], data["churned"])
        child = run.log_model(clf, "churn", train_data="churn-train@1", parents=["churn@1"])
    client.models.delete_version("churn", 1)
    assert [(p.ref, p.status) for p in client.lineage(child).parents] == [("churn@1", "deleted")]
    assert [m.ref for _, m in client.lineage("churn-train@1", kind="dataset").models] == ["churn@2"]
