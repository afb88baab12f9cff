"""Does the model behave: ``determinism`` (same input, same output) and ``bad_input`` (clean refusals)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipyard.core.errors import InvalidInput
from shipyard.gates.check import Check, Outcome, Param

if TYPE_CHECKING:
    from shipyard.gates.context import GateContext


class Determinism(Check):
    kind = "determinism"
    doc = "predicting the same rows twice, the second time with a freshly loaded model, gives the same output"
    params = (Param("rows", int, required=False, default=1000, minimum=1),)

    def run(self, ctx: GateContext) -> Outcome:
        import numpy as np

        sample = ctx.features.slice(0, self["rows"])
        first = ctx.model.predict(sample)
        again = ctx.client.models.load(ctx.version, trust_unsafe=ctx.policy.allow_unsafe).predict(sample)
        same = bool(np.array_equal(first, again))
        return Outcome(
            same,
            f"{len(first):,} predictions " + ("identical across two loads" if same else "differ across two loads"),
            measured={"rows": len(first), "differing": int(np.sum(np.asarray(first) != np.asarray(again)))},
        )


class BadInput(Check):
    kind = "bad_input"
    doc = "malformed rows (a missing column, a wrong type, a null, no rows) get a clear InvalidInput, not a crash"
    params = ()

    def run(self, ctx: GateContext) -> Outcome:
        row = ctx.features.slice(0, 1).to_pylist()[0]
        first = ctx.input_columns[0]
        cases: dict[str, Any] = {
            "missing column": [{k: v for k, v in row.items() if k != first}],
            "extra column": [{**row, "__unexpected__": 1}],
            "wrong type": [{**row, first: {"nested": "object"}}],
            "null": [{**row, first: None}],
            "no rows": {name: [] for name in ctx.input_columns},
        }
        outcomes: dict[str, str] = {}
        for case, payload in cases.items():
            try:
                ctx.model.predict(payload)
                outcomes[case] = "accepted"
            except InvalidInput:
                outcomes[case] = "refused cleanly"
            except Exception as exc:  # what this check exists to find
                outcomes[case] = f"crashed: {type(exc).__name__}: {exc}"
        crashed = {k: v for k, v in outcomes.items() if v.startswith("crashed")}
        accepted_wrongly = [
            k for k in ("missing column", "extra column", "wrong type", "no rows") if outcomes[k] == "accepted"
        ]
        passed = not crashed and not accepted_wrongly
        message = (
            "every malformed input was refused with InvalidInput"
            if passed
            else "; ".join([*(f"{k}: {v}" for k, v in crashed.items()), *(f"{k}: accepted" for k in accepted_wrongly)])
        )
        return Outcome(
            passed,
            message,
            measured={"cases": len(cases), "crashes": len(crashed)},
            evidence={"table": [{"case": k, "outcome": v} for k, v in outcomes.items()]},
        )
