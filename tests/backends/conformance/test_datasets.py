"""Dataset versions: numbering, idempotence by content, lookups, and which runs read them."""

from __future__ import annotations

import pytest

from shipyard.backends import Backend
from shipyard.core.entities import RunStatus
from shipyard.core.errors import Conflict, NotFound
from tests.backends.conformance.conftest import PROJECT, acting, digest, new_dataset, new_run


def add(backend: Backend, name: str, content: str) -> tuple[int, bool]:
    version, new = backend.datasets.add_version(
        PROJECT,
        name,
        digest=digest(content),
        blob_digest=digest(),
        rows=1,
        size_bytes=1,
        schema={},
        profile={},
        description="d",
        actor="tester",
    )
    return version.version, new


def test_versions_are_numbered_and_the_same_content_is_the_same_version(backend: Backend) -> None:
    assert add(backend, "train", "a") == (1, True)
    assert add(backend, "train", "b") == (2, True)
    assert add(backend, "train", "a") == (1, False)
    assert add(backend, "other", "a") == (1, True)
    got = backend.datasets.get_version(PROJECT, "train")
    assert (got.version, got.digest, got.created_by, got.description) == (
        2,
        digest("b"),
        acting(backend, "tester"),
        "d",
    )
    assert backend.datasets.get_version(PROJECT, "train", 1).digest == digest("a")


def test_lists_are_newest_first_and_one_entry_per_dataset(backend: Backend) -> None:
    new_dataset(backend, "train", content="a")
    new_dataset(backend, "train", content="b")
    new_dataset(backend, "eval", project="elsewhere")
    assert [v.version for v in backend.datasets.list_versions(PROJECT, "train")] == [2, 1]
    assert [(v.name, v.version) for v in backend.datasets.list_datasets(PROJECT)] == [("train", 2)]
    everywhere = [(v.project, v.name) for v in backend.datasets.list_datasets()]
    assert everywhere == [("default", "train"), ("elsewhere", "eval")]


def test_a_missing_dataset_or_version_is_not_found_naming_what_exists(backend: Backend) -> None:
    new_dataset(backend, "train")
    with pytest.raises(NotFound, match="train"):
        backend.datasets.get_version(PROJECT, "trian")
    with pytest.raises(NotFound, match="versions are 1"):
        backend.datasets.get_version(PROJECT, "train", 7)
    with pytest.raises(NotFound, match="trian"):
        backend.datasets.list_versions(PROJECT, "trian")


def test_run_inputs_are_recorded_once_and_read_both_ways(backend: Backend) -> None:
    run, data = new_run(backend), new_dataset(backend)
    backend.datasets.add_run_input(run.id, data.id, "train")
    backend.datasets.add_run_input(run.id, data.id, "train")  # idempotent
    assert backend.datasets.run_inputs(run.id) == [("train", data)]
    assert backend.datasets.runs_using(data.id) == [(run.id, "train")]
    assert backend.datasets.run_inputs("nope") == [] and backend.datasets.runs_using(-1) == []


def test_only_a_running_run_takes_inputs(backend: Backend) -> None:
    run, data = new_run(backend), new_dataset(backend)
    with pytest.raises(NotFound, match="nope"):
        backend.datasets.add_run_input("nope", data.id, "train")
    backend.store.end_run(run.id, RunStatus.FINISHED)
    with pytest.raises(Conflict, match="ended"):
        backend.datasets.add_run_input(run.id, data.id, "train")
    assert backend.datasets.run_inputs(run.id) == []
