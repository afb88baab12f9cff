"""Check kinds: ``kind → "module:Class"``, imported only when a policy uses the kind.

A package of the user's can add kinds through the entry-point group ``shipyard.checks``
(``my_kind = "my_package.checks:MyCheck"``), each a subclass of ``shipyard.gates.check.Check``.
"""

from __future__ import annotations

import difflib
import importlib
from functools import cache
from importlib import metadata
from typing import TYPE_CHECKING

from shipyard.core.errors import InvalidInput

if TYPE_CHECKING:
    from shipyard.gates.check import Check

BUILTIN: dict[str, str] = {
    # data
    "schema": "shipyard.gates.checks.data:SchemaCheck",
    "completeness": "shipyard.gates.checks.data:Completeness",
    "no_nan_inf": "shipyard.gates.checks.data:NoNanInf",
    "min_rows": "shipyard.gates.checks.data:MinRows",
    "class_balance": "shipyard.gates.checks.data:ClassBalance",
    "split_overlap": "shipyard.gates.checks.data:SplitOverlap",
    "group_split": "shipyard.gates.checks.splits:GroupSplit",
    "time_split": "shipyard.gates.checks.splits:TimeSplit",
    # performance
    "min_metric": "shipyard.gates.checks.performance:MinMetric",
    "max_metric": "shipyard.gates.checks.performance:MaxMetric",
    "metric_policy": "shipyard.gates.checks.performance:MetricPolicy",
    # comparison
    "no_regression": "shipyard.gates.checks.comparison:NoRegression",
    "mcnemar": "shipyard.gates.checks.comparison:McNemar",
    "beats_baseline": "shipyard.gates.checks.comparison:BeatsBaseline",
    # slices
    "slice_metric": "shipyard.gates.checks.slices:SliceMetric",
    # fairness and leakage
    "fairness_gap": "shipyard.gates.checks.fairness:FairnessGap",
    "leakage_probe": "shipyard.gates.checks.fairness:LeakageProbe",
    # robustness
    "determinism": "shipyard.gates.checks.robustness:Determinism",
    "bad_input": "shipyard.gates.checks.robustness:BadInput",
    # operations
    "latency": "shipyard.gates.checks.operations:Latency",
    "memory": "shipyard.gates.checks.operations:Memory",
    "invariance": "shipyard.gates.checks.operations:Invariance",
    "determinism_process": "shipyard.gates.checks.operations:DeterminismProcess",
    # infra and lineage
    "safe_format": "shipyard.gates.checks.infra:SafeFormat",
    "loads_clean": "shipyard.gates.checks.infra:LoadsClean",
    "lineage_complete": "shipyard.gates.checks.lineage:LineageComplete",
}
ENTRY_POINT_GROUP = "shipyard.checks"


@cache
def _plugins() -> dict[str, str]:
    return {ep.name: ep.value for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def kinds() -> list[str]:
    return sorted({**_plugins(), **BUILTIN})


def get_check(kind: str, where: str = "") -> type[Check]:
    """The class of a check kind; ``InvalidInput`` listing the kinds (with a did-you-mean) if unknown."""
    from shipyard.gates.check import Check

    target = BUILTIN.get(kind) or _plugins().get(kind)
    if target is None:
        close = difflib.get_close_matches(str(kind), kinds(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InvalidInput(
            f"{where}unknown check kind {kind!r}{hint}. Built-in kinds: {', '.join(sorted(BUILTIN))}; "
            f"packages add more through the {ENTRY_POINT_GROUP!r} entry-point group."
        )
    module_name, _, attribute = target.partition(":")
    found = getattr(importlib.import_module(module_name), attribute)
    if not (isinstance(found, type) and issubclass(found, Check)):
        raise InvalidInput(f"{where}check kind {kind!r} points at {target}, which is not a Check subclass.")
    return found
