"""``lineage_complete``: the version can be traced to its run, its training data and a clean commit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.gates.check import Check, Outcome, Param

if TYPE_CHECKING:
    from shipyard.gates.context import GateContext


class LineageComplete(Check):
    kind = "lineage_complete"
    doc = "a training run, a training dataset and a git commit are recorded (and the tree was clean)"
    params = (Param("require_clean_tree", bool, required=False, default=True),)

    def run(self, ctx: GateContext) -> Outcome:
        lineage = ctx.lineage
        missing = []
        if lineage.run is None:
            missing.append("training run")
        if ctx.train_version is None:
            missing.append("training dataset (train_data=)")
        code = lineage.code
        if code is None:
            missing.append("git commit (train from a git checkout)")
        elif self["require_clean_tree"] and code.get("dirty"):
            missing.append(f"a clean tree (commit {str(code.get('commit'))[:12]} had uncommitted changes)")
        return Outcome(
            not missing,
            "missing: " + "; ".join(missing) if missing else "run, training data and a clean commit recorded",
            measured={"missing": len(missing)},
            evidence={"missing": missing},
        )
