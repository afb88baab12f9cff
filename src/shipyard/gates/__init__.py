"""The release gate: policies, checks, verdicts, reports; protected aliases need a passing verdict.

>>> from shipyard.gates import Gate
>>> verdict = Gate(client).evaluate("churn@7", data="churn-eval")   # or sy.gate.evaluate(...)
"""

from shipyard.gates.service import Gate

__all__ = ["Gate"]
