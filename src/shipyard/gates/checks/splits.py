"""How the eval data was split from the training data: ``group_split`` and ``time_split``.

Both read the training dataset version the model version records; without one they cannot run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.gates.check import Check, CheckFailedToRun, Outcome, Param
from shipyard.gates.checks.data import training_table

if TYPE_CHECKING:
    import pyarrow as pa

    from shipyard.gates.context import GateContext


def _column(table: pa.Table, name: str, where: str) -> pa.ChunkedArray:
    if name not in table.column_names:
        raise CheckFailedToRun(f"the {where} data has no column {name!r}")
    return table.column(name)


class GroupSplit(Check):
    kind = "group_split"
    doc = "no value of the group key (a customer, a patient) is in both the training and the eval data"
    params = (Param("key", str, doc="the column that identifies a group"),)

    def run(self, ctx: GateContext) -> Outcome:
        train = training_table(ctx)
        seen = set(_column(train, self["key"], "training").to_pylist())
        shared = sorted({v for v in _column(ctx.table, self["key"], "eval").to_pylist() if v in seen}, key=str)
        return Outcome(
            not shared,
            f"{len(shared):,} {self['key']} value(s) in both training and eval"
            + (f", e.g. {', '.join(map(str, shared[:5]))}" if shared else ""),
            measured={"shared_groups": len(shared)},
            threshold={"max": 0},
        )


class TimeSplit(Check):
    kind = "time_split"
    doc = "every training row is older than every eval row"
    params = (Param("column", str, doc="the time (or any ordered) column"),)

    def run(self, ctx: GateContext) -> Outcome:
        import pyarrow.compute as pc

        train = training_table(ctx)
        latest_train = pc.max(_column(train, self["column"], "training")).as_py()
        earliest_eval = pc.min(_column(ctx.table, self["column"], "eval")).as_py()
        if latest_train is None or earliest_eval is None:
            raise CheckFailedToRun(f"{self['column']!r} holds no values to compare")
        passed = latest_train < earliest_eval
        return Outcome(
            passed,
            f"latest training {self['column']} {latest_train} {'<' if passed else '≥'} earliest eval {earliest_eval}",
            measured={"train_max": str(latest_train), "eval_min": str(earliest_eval)},
        )
