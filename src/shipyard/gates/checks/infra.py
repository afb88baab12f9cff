"""Operational checks: ``safe_format`` blocks pickle-based versions unless the policy allows them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.gates.check import Check, Outcome

if TYPE_CHECKING:
    from shipyard.gates.context import GateContext


class SafeFormat(Check):
    kind = "safe_format"
    doc = "the version is stored in a format that cannot run code when loaded (not pickle)"
    params = ()

    def run(self, ctx: GateContext) -> Outcome:
        unsafe = ctx.version.unsafe_format
        allowed = ctx.policy.allow_unsafe
        if not unsafe:
            return Outcome(True, f"{ctx.version.flavor} format, safe to load", measured={"unsafe_format": False})
        return Outcome(
            allowed,
            f"{ctx.version.ref} is pickle-based ({ctx.version.flavor}); "
            + ("[gate] allow_unsafe = true accepts it" if allowed else "set [gate] allow_unsafe = true to accept it"),
            measured={"unsafe_format": True},
            threshold={"allow_unsafe": allowed},
        )
