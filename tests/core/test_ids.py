"""Run ids: 32 hex characters, increasing in the order a process makes them, even within one millisecond."""

from __future__ import annotations

import pytest

import shipyard as sy
from shipyard.core.ids import check_run_id, new_run_id


def test_ids_made_in_a_loop_increase_in_the_order_they_were_made() -> None:
    ids = [new_run_id() for _ in range(5_000)]  # many share a millisecond
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(check_run_id(i) == i for i in ids)


@pytest.mark.parametrize("bad", ["", "XYZ", "0" * 31, "0" * 33, "G" * 32])
def test_a_malformed_id_is_invalid_input(bad: str) -> None:
    with pytest.raises(sy.InvalidInput, match="32 lowercase hexadecimal"):
        check_run_id(bad)
