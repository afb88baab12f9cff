"""Canaries through the registry: ``start_canary`` refuses what cannot be a canary, ``end_canary`` moves no alias."""

from __future__ import annotations

import pytest

import shipyard as sy
from tests._gate_helpers import pass_gate
from tests.registry.conftest import NewVersion

pytestmark = pytest.mark.over_http  # this suite also runs on the HTTP backend (tests/conftest.py)


@pytest.fixture
def churn(client: sy.Client, new_version: NewVersion) -> sy.Client:
    """``churn`` versions 1 to 3, each holding a passing verdict; version 1 is champion."""
    for number in range(1, 4):
        new_version()
        pass_gate(client, "churn", number)
    client.backend.registry.set_alias("default", "churn", 1, "champion", actor="t")
    return client


def test_a_canary_is_started_read_and_ended(churn: sy.Client) -> None:
    started = churn.models.start_canary("churn", 2, 0.1, reason="retrained")
    assert started.to_dict()["ref"] == "churn@2" and churn.models.canary("churn") == started
    ended = churn.models.end_canary("churn", "rolled_back", reason="worse on live feedback")
    assert (ended.state, ended.end_reason) == ("rolled_back", "worse on live feedback")
    assert churn.models.canary("churn") is None
    assert [c.state for c in churn.models.canaries("churn")] == ["rolled_back"]


def test_ending_a_canary_as_promoted_moves_no_alias(churn: sy.Client) -> None:
    churn.models.start_canary("churn", 2, 0.1)
    churn.models.end_canary("churn", "promoted")
    assert churn.models.get("churn@champion").version == 1


def test_a_version_that_does_not_exist_is_not_found_with_the_versions_there_are(churn: sy.Client) -> None:
    with pytest.raises(sy.NotFound, match=r"no version 9; its versions are 1, 2, 3"):
        churn.models.start_canary("churn", 9, 0.1)
    with pytest.raises(sy.NotFound, match="No registered model named 'chrun'"):
        churn.models.start_canary("chrun", 2, 0.1)


def test_an_archived_version_is_refused(churn: sy.Client) -> None:
    churn.models.archive("churn", 3)
    with pytest.raises(sy.Conflict, match=r"churn@3 is archived; restore it \(`shipyard models restore churn 3`\)"):
        churn.models.start_canary("churn", 3, 0.1)


def test_the_champion_cannot_be_its_own_canary(churn: sy.Client) -> None:
    with pytest.raises(sy.Conflict, match="churn@1 is the champion already"):
        churn.models.start_canary("churn", 1, 0.1)


@pytest.mark.parametrize("share", [0, -0.1, 0.51, 1.0, float("nan"), True, "0.1"])
def test_a_share_outside_zero_to_one_half_is_refused(churn: sy.Client, share: object) -> None:
    with pytest.raises(sy.InvalidInput, match=r"The 'share' parameter of start_canary must be .*\(0, 0\.5\]"):
        churn.models.start_canary("churn", 2, share)  # type: ignore[arg-type]
    assert churn.models.canary("churn") is None


def test_a_share_given_in_percent_suggests_the_fraction(churn: sy.Client) -> None:
    with pytest.raises(sy.InvalidInput, match=r"Got 10 instead\. Did you mean 0\.1 \(10 %\)\?"):
        churn.models.start_canary("churn", 2, 10)


def test_a_second_canary_is_refused_naming_the_running_one(churn: sy.Client) -> None:
    churn.models.start_canary("churn", 2, 0.1)
    with pytest.raises(sy.Conflict, match=r"churn@2 is already a canary of 'churn' \(10% of traffic.*canary-end churn"):
        churn.models.start_canary("churn", 3, 0.2)
    assert churn.models.canary("churn").version == 2  # type: ignore[union-attr]


def test_an_unknown_outcome_suggests_the_closest(churn: sy.Client) -> None:
    churn.models.start_canary("churn", 2, 0.1)
    with pytest.raises(
        sy.InvalidInput, match=r"promoted, rolled_back, stopped; got 'rolled-back'\. Did you mean 'rolled_back'"
    ):
        churn.models.end_canary("churn", "rolled-back")
    assert churn.models.canary("churn") is not None


def test_ending_when_none_runs_is_not_found(churn: sy.Client) -> None:
    with pytest.raises(sy.NotFound, match="Model 'churn' has no running canary"):
        churn.models.end_canary("churn", "stopped")


def test_history_is_newest_first_and_limited(churn: sy.Client) -> None:
    for version in (2, 3, 2):
        churn.models.start_canary("churn", version, 0.05)
        churn.models.end_canary("churn", "stopped")
    assert [c.version for c in churn.models.canaries("churn")] == [2, 3, 2]
    assert [c.version for c in churn.models.canaries("churn", limit=2)] == [2, 3]
    with pytest.raises(sy.InvalidInput, match="'limit' parameter of canaries must be a positive integer"):
        churn.models.canaries("churn", limit=0)
    assert churn.models.canaries("other") == [] and churn.models.canary("other") is None
