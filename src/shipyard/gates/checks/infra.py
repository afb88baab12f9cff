"""Operational checks: ``safe_format`` blocks pickle-based versions unless the policy allows them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.gates.check import Check, Outcome, Param

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


class LoadsClean(Check):
    kind = "loads_clean"
    doc = "the version loads in a fresh process from the registry (digests verified) within max_seconds"
    params = (Param("max_seconds", float, required=False, default=60.0, minimum=0.1),)

    def run(self, ctx: GateContext) -> Outcome:
        from shipyard.gates.check import CheckFailedToRun
        from shipyard.gates.checks.operations import run_fresh_process

        try:
            # One row predicted too: a model that loads but cannot run is not clean.
            fresh = run_fresh_process(ctx, ctx.features.slice(0, 1), timeout=self["max_seconds"] + 30)
        except CheckFailedToRun as exc:
            return Outcome(False, str(exc), threshold={"max_seconds": self["max_seconds"]})
        return Outcome(
            fresh.load_seconds <= self["max_seconds"],
            f"loaded in a fresh process in {fresh.load_seconds:.2f} s (budget {self['max_seconds']:.2f} s)",
            measured={"load_seconds": fresh.load_seconds},
            threshold={"max_seconds": self["max_seconds"]},
        )
