"""``check_numbers``: an integer no database column holds is the caller's mistake (400), named by its place."""

from __future__ import annotations

import dataclasses

import pytest

from shipyard.core.errors import InvalidInput
from shipyard.server.access import check_numbers


@dataclasses.dataclass
class Item:
    name: str
    size: int


def test_every_64_bit_integer_and_every_other_value_passes() -> None:
    points = [("loss", 0.5, step, 2**63 - 1) for step in range(1_000)] + [("m", None, -(2**63), 0)]
    check_numbers({"run_id": "r", "metrics_": points, "flag": True, "items": [Item("a", 2**63 - 1)], "tags_": {}})


@pytest.mark.parametrize(
    ("args", "where", "number"),
    [
        ({"step": 2**63}, "step", 2**63),
        ({"metrics_": [("loss", 1.0, 0, 1), ("loss", 1.0, -(2**63) - 1, 2)]}, "metrics_[1][2]", -(2**63) - 1),
        ({"fields": {"nested": {"n": [1, 2**64]}}}, "fields.nested.n[1]", 2**64),
        ({"items": [Item("a", 1), Item("b", 2**70)]}, "items[1].size", 2**70),
    ],
)
def test_an_integer_past_64_bits_is_refused_naming_its_place(args: dict[str, object], where: str, number: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_numbers(args)
    assert str(refused.value) == f"{where}: {number} is out of range; integers here fit in 64 bits (|n| < 2**63)."
