"""References: ``name``, ``name@3``, ``name@alias``; a version is a number the store can hold."""

from __future__ import annotations

import pytest

from shipyard.core.errors import InvalidInput
from shipyard.core.refs import MAX_VERSION, Ref, check_version, parse_ref


def test_a_reference_names_the_newest_a_version_or_an_alias() -> None:
    assert parse_ref("churn") == parse_ref("churn@latest") == Ref("churn")
    assert parse_ref("churn@3") == Ref("churn", version=3)
    assert parse_ref("churn@champion") == Ref("churn", alias="champion")
    assert parse_ref("churn@v2") == Ref("churn", alias="v2")
    assert parse_ref(f"churn@{MAX_VERSION}").version == MAX_VERSION == 2**63 - 1


@pytest.mark.parametrize("selector", ["0", "000", str(2**63), "99999999999999999999999", "9" * 5000])
@pytest.mark.parametrize("what", ["model", "dataset"])
def test_a_version_out_of_range_is_refused_naming_the_reference(selector: str, what: str) -> None:
    with pytest.raises(InvalidInput, match=f"from 1 to {MAX_VERSION}") as caught:
        parse_ref(f"churn@{selector}", what)
    message = str(caught.value)
    assert f"'churn@{selector[:20]}" in message and len(message) < 200  # the reference as given, cut if long


@pytest.mark.parametrize("selector", ["²", "٣", "1²"])
def test_digits_other_than_0_to_9_are_refused(selector: str) -> None:
    with pytest.raises(InvalidInput, match="digits 0-9"):
        parse_ref(f"churn@{selector}")


@pytest.mark.parametrize("version", [0, -1, 2**63, True, "3", 3.0])
def test_check_version_takes_an_int_from_1_to_the_largest_the_store_holds(version: object) -> None:
    with pytest.raises(InvalidInput, match=f"from 1 to {MAX_VERSION}"):
        check_version(version)
    assert check_version(MAX_VERSION) == MAX_VERSION
