from pathlib import Path

import pytest

import shipyard as sy
from tests.registry.conftest import NewVersion


def test_versions_are_numbered_and_found_by_number_alias_or_newest(client: sy.Client, new_version: NewVersion) -> None:
    assert [new_version().version for _ in range(3)] == [1, 2, 3]
    client.models.set_alias("churn", 2, "challenger")
    assert client.models.get("churn@2").version == 2
    assert client.models.get("churn@challenger").version == 2
    assert client.models.get("churn").version == 3
    assert client.models.get("churn@latest").version == 3


def test_moving_an_alias_is_audited_with_old_and_new_versions(client: sy.Client, new_version: NewVersion) -> None:
    new_version(), new_version()
    client.models.set_alias("churn", 1, "challenger")
    moved = client.models.set_alias("churn", 2, "challenger")
    assert moved.aliases == ("challenger",)
    assert client.models.get("churn@1").aliases == ()
    events = [e for e in client.models.audit_log("churn") if e.action == "alias.set"]
    assert [(e.details["old_version"], e.details["new_version"]) for e in events] == [(1, 2), (None, 1)]
    assert all(e.actor and e.at > 0 for e in events)


def test_a_protected_alias_is_blocked_without_a_verdict_and_nothing_is_written(
    client: sy.Client, new_version: NewVersion
) -> None:
    new_version()
    with pytest.raises(sy.GateBlocked, match=r"protected alias.*shipyard gate run churn@1"):
        client.models.set_alias("churn", 1, "champion")
    assert client.models.get("churn@1").aliases == ()  # nothing moved; only the refusal is recorded
    assert [e.action for e in client.models.audit_log("churn")] == ["gate.refused", "model_version.create"]


def test_protected_aliases_come_from_the_gate_table(store_settings: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "shipyard.toml").write_text('[gate]\nprotected_aliases = ["prod"]\n')
    client = sy.Client(
        store_settings["uri"], artifacts=store_settings["artifacts"], cwd=tmp_path, capture_environment=False
    )
    client.backend.registry.create_version(
        "default",
        "m",
        flavor="python_function",
        artifact_digest="sha256:" + "0" * 64,
        package={},
        unsafe_format=False,
        files=[],
        run_id=None,
        actor="t",
    )
    assert client.models.set_alias("m", 1, "champion").aliases == ("champion",)
    with pytest.raises(sy.GateBlocked):
        client.models.set_alias("m", 1, "prod")
    client.close()


@pytest.mark.parametrize("alias", ["Champion", "prod eu", "1", "latest", "", "x" * 65, "a/b"])
def test_illegal_alias_names_are_invalid_input(client: sy.Client, new_version: NewVersion, alias: str) -> None:
    new_version()
    with pytest.raises(sy.InvalidInput, match="alias"):
        client.models.set_alias("churn", 1, alias)


def test_a_missing_version_lists_the_existing_ones(client: sy.Client, new_version: NewVersion) -> None:
    new_version(), new_version()
    client.models.set_alias("churn", 2, "challenger")
    with pytest.raises(sy.NotFound, match=r"no version 7; its versions are 1, 2 and its aliases challenger → 2"):
        client.models.get("churn@7")
    with pytest.raises(sy.NotFound, match="has no version 9"):
        client.models.set_alias("churn", 9, "challenger")
    with pytest.raises(sy.NotFound, match="Models there: churn"):
        client.models.get("chrun@1")


def test_a_version_holding_an_alias_cannot_be_deleted_or_archived(client: sy.Client, new_version: NewVersion) -> None:
    new_version()
    client.models.set_alias("churn", 1, "challenger")
    with pytest.raises(sy.Conflict, match="challenger"):
        client.models.delete_version("churn", 1)
    with pytest.raises(sy.Conflict, match="challenger"):
        client.models.archive("churn", 1)
    assert client.models.get("churn@1").status == "active"


def test_deleted_numbers_are_never_reused(client: sy.Client, new_version: NewVersion) -> None:
    new_version(), new_version()
    client.models.delete_version("churn", 2)
    assert new_version().version == 3
    assert [v.version for v in client.models.versions("churn")] == [3, 1]
    assert "model_version.delete" in [e.action for e in client.models.audit_log("churn")]


def test_archived_versions_are_skipped_by_latest_but_reachable_by_number(
    client: sy.Client, new_version: NewVersion
) -> None:
    new_version(), new_version()
    client.models.archive("churn", 2)
    assert client.models.get("churn").version == 1
    assert client.models.get("churn@2").status == "archived"
    with pytest.raises(sy.Conflict, match="archived"):
        client.models.set_alias("churn", 2, "challenger")
    assert client.models.restore("churn", 2).status == "active"


def test_deleting_an_alias_is_audited(client: sy.Client, new_version: NewVersion) -> None:
    new_version()
    client.models.set_alias("churn", 1, "challenger")
    assert client.models.delete_alias("churn", "challenger") == 1
    with pytest.raises(sy.NotFound):
        client.models.get("churn@challenger")
    assert client.models.audit_log("churn")[0].details == {"alias": "challenger", "old_version": 1, "new_version": None}


def test_models_are_listed_with_their_aliases(client: sy.Client, new_version: NewVersion) -> None:
    new_version("a"), new_version("b"), new_version("b")
    client.models.set_alias("b", 2, "challenger")
    listed = {m.name: (m.latest_version, dict(m.aliases)) for m in client.models.list()}
    assert listed == {"a": (1, {}), "b": (2, {"challenger": 2})}


def test_tags_and_descriptions_can_be_set_later(client: sy.Client, new_version: NewVersion) -> None:
    new_version()
    client.models.set_tags("churn", 1, {"reviewed": "yes"})
    client.models.set_description("churn", "why this version", version=1)
    client.models.set_description("churn", "the churn model")
    version = client.models.get("churn@1")
    assert (version.tags, version.description) == ({"reviewed": "yes"}, "why this version")
    assert client.models.list()[0].description == "the churn model"
    with pytest.raises(sy.InvalidInput):
        client.models.set_tags("churn", 1, {"bad key!": "x"})
