"""The registry: versions, lookups by version and alias, lifecycle, tags, descriptions and lineage links."""

from __future__ import annotations

import pytest

from shipyard.backends import Backend
from shipyard.core.errors import Conflict, InvalidInput, NotFound
from shipyard.core.refs import Ref
from tests.backends.conformance.conftest import PROJECT, digest, new_dataset, new_run, new_version


def test_versions_are_numbered_per_model_with_what_they_were_made_from(backend: Backend) -> None:
    run, data = new_run(backend), new_dataset(backend)
    first = new_version(backend, run_id=run.id, datasets_=[(data.id, "train")], tags={"k": "v"}, description="d")
    second = new_version(backend, parents=[first.id], files=[("model.bin", digest("f"), 3)])
    assert (first.version, second.version, new_version(backend, "other").version) == (1, 2, 1)
    got = backend.registry.get_version(PROJECT, Ref("churn", version=1))
    assert (got.run_id, got.datasets, got.tags, got.description) == (run.id, (("train", "train@1"),), {"k": "v"}, "d")
    assert backend.registry.get_version(PROJECT, Ref("churn")).version == 2
    assert backend.registry.get_version(PROJECT, Ref("churn", version=2)).parents == ("churn@1",)
    assert {digest("f"), second.artifact_digest} <= backend.store.referenced_digests()


def test_a_missing_model_version_or_alias_is_not_found(backend: Backend) -> None:
    new_version(backend)
    for ref in (Ref("churm"), Ref("churn", version=9), Ref("churn", alias="champion")):
        with pytest.raises(NotFound):
            backend.registry.get_version(PROJECT, ref)
    with pytest.raises(NotFound):
        backend.registry.get_version("ghost", Ref("churn"))


def test_lists_of_models_and_versions(backend: Backend) -> None:
    new_version(backend)
    new_version(backend)
    new_version(backend, "fraud", project="other")
    assert [v.version for v in backend.registry.list_versions(PROJECT, "churn")] == [2, 1]
    assert [(m.name, m.latest_version) for m in backend.registry.list_models(PROJECT)] == [("churn", 2)]
    assert {(m.project, m.name) for m in backend.registry.list_models()} == {("default", "churn"), ("other", "fraud")}
    with pytest.raises(NotFound, match="nothing"):
        backend.registry.list_versions(PROJECT, "nothing")


def test_versions_made_from_a_dataset(backend: Backend) -> None:
    data = new_dataset(backend)
    made = new_version(backend, datasets_=[(data.id, "train")])
    new_version(backend)
    using = backend.registry.versions_using_dataset(data.id)
    assert [(role, v.version) for role, v in using] == [("train", made.version)]
    assert backend.registry.versions_using_dataset(-1) == []


def test_archive_restore_and_delete_keep_numbers_and_spare_aliased_versions(backend: Backend) -> None:
    first, second = new_version(backend), new_version(backend)
    backend.registry.set_alias(PROJECT, "churn", 2, "challenger", actor="tester")
    for change in (
        lambda: backend.registry.set_status(PROJECT, "churn", 2, "archived", actor="tester"),
        lambda: backend.registry.delete_version(PROJECT, "churn", 2, actor="tester"),
    ):
        with pytest.raises(Conflict, match="challenger"):
            change()
    assert backend.registry.set_status(PROJECT, "churn", 1, "archived", actor="tester").status == "archived"
    with pytest.raises(Conflict, match="archived"):
        backend.registry.set_alias(PROJECT, "churn", 1, "challenger", actor="tester")
    assert backend.registry.set_status(PROJECT, "churn", 1, "active", actor="tester").status == "active"
    backend.registry.delete_version(PROJECT, "churn", first.version, actor="tester")
    assert [v.version for v in backend.registry.list_versions(PROJECT, "churn")] == [second.version]
    assert [v.version for v in backend.registry.list_versions(PROJECT, "churn", include_deleted=True)] == [2, 1]
    assert backend.registry.get_version(PROJECT, Ref("churn", version=1), include_deleted=True).id == first.id
    assert new_version(backend).version == 3
    with pytest.raises(NotFound):
        backend.registry.delete_version(PROJECT, "churn", 1, actor="tester")


def test_lifecycle_of_an_unknown_model_or_version_is_not_found(backend: Backend) -> None:
    new_version(backend)
    for change in (
        lambda: backend.registry.set_status(PROJECT, "ghost", 1, "archived", actor="tester"),
        lambda: backend.registry.set_status(PROJECT, "churn", 9, "archived", actor="tester"),
        lambda: backend.registry.delete_version(PROJECT, "churn", 9, actor="tester"),
        lambda: backend.registry.set_version_tags(PROJECT, "churn", 9, {"a": "b"}),
        lambda: backend.registry.set_description(PROJECT, "ghost", "d"),
        lambda: backend.registry.set_description(PROJECT, "churn", "d", version=9),
        lambda: backend.registry.delete_alias(PROJECT, "ghost", "challenger", actor="tester"),
    ):
        with pytest.raises(NotFound):
            change()


def test_tags_are_upserted_and_descriptions_set_on_the_model_or_a_version(backend: Backend) -> None:
    new_version(backend, tags={"a": "1"})
    backend.registry.set_version_tags(PROJECT, "churn", 1, {"a": "2", "b": "3"})
    backend.registry.set_description(PROJECT, "churn", "the model")
    backend.registry.set_description(PROJECT, "churn", "the first", version=1)
    got = backend.registry.get_version(PROJECT, Ref("churn", version=1))
    assert (got.tags, got.description) == ({"a": "2", "b": "3"}, "the first")
    assert backend.registry.list_models(PROJECT)[0].description == "the model"


def test_an_unprotected_alias_moves_freely_and_is_deleted(backend: Backend) -> None:
    new_version(backend)
    new_version(backend)
    backend.registry.set_alias(PROJECT, "churn", 1, "challenger", actor="tester")
    moved = backend.registry.set_alias(PROJECT, "churn", 2, "challenger", actor="tester")
    assert moved.aliases == ("challenger",)
    assert backend.registry.get_version(PROJECT, Ref("churn", alias="challenger")).version == 2
    assert backend.registry.list_models(PROJECT)[0].aliases == {"challenger": 2}
    assert backend.registry.delete_alias(PROJECT, "churn", "challenger", actor="tester") == 2
    with pytest.raises(NotFound, match="challenger"):
        backend.registry.delete_alias(PROJECT, "churn", "challenger", actor="tester")


def test_previous_champion_is_kept_by_promotion_only(backend: Backend) -> None:
    new_version(backend)
    with pytest.raises(InvalidInput, match="previous-champion"):
        backend.registry.set_alias(PROJECT, "churn", 1, "previous-champion", actor="tester")
    with pytest.raises(NotFound):
        backend.registry.set_alias(PROJECT, "churn", 5, "challenger", actor="tester")
