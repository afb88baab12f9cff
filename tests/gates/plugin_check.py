"""A check kind as a user's package would ship it, registered in the ``shipyard.checks`` entry-point group."""

from __future__ import annotations

from typing import Any

from shipyard.gates.check import Check, Outcome, Param


class EvalRowsAreEven(Check):
    kind = "even_rows"
    doc = "the eval data has an even number of rows (a stand-in for a team's own rule)"
    params = (Param("strict", bool, required=False, default=True),)

    def run(self, ctx: Any) -> Outcome:
        rows = ctx.dataset.rows
        return Outcome(rows % 2 == 0 or not self["strict"], f"{rows} eval rows", measured={"rows": rows})


class NotACheck:
    pass
