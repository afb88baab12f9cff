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
        import json
        import subprocess
        import sys
        import time

        from shipyard.gates.check import CheckFailedToRun

        settings = ctx.client.settings
        script = (
            "import json, sys, time\n"
            "import shipyard as sy\n"
            "start = time.perf_counter()\n"
            "client = sy.Client(sys.argv[1], artifacts=sys.argv[2], capture_environment=False)\n"
            "model = client.models.load(sys.argv[3], project=sys.argv[4], trust_unsafe=sys.argv[5] == '1')\n"
            "print(json.dumps({'seconds': time.perf_counter() - start, 'flavor': model.flavor}))\n"
        )
        args = [
            settings.uri,
            settings.artifacts or "",
            ctx.version.ref,
            ctx.version.project,
            "1" if ctx.policy.allow_unsafe else "0",
        ]
        started = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, "-c", script, *args],
                capture_output=True,
                text=True,
                timeout=self["max_seconds"] + 30,
                check=False,
                cwd=str(settings.root),
            )
        except subprocess.TimeoutExpired:
            return Outcome(
                False,
                f"loading did not finish within {self['max_seconds'] + 30:.0f} s",
                threshold={"max_seconds": self["max_seconds"]},
            )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return Outcome(
                False,
                f"a fresh process could not load {ctx.version.ref}: {last}",
                measured={"exit_code": done.returncode},
            )
        try:
            seconds = float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])
        except (ValueError, KeyError, IndexError) as exc:
            raise CheckFailedToRun(f"the loading process printed no timing ({exc})") from exc
        total = time.perf_counter() - started
        return Outcome(
            seconds <= self["max_seconds"],
            f"loaded in a fresh process in {seconds:.2f} s ({total:.2f} s with interpreter start)",
            measured={"load_seconds": seconds, "process_seconds": total},
            threshold={"max_seconds": self["max_seconds"]},
        )
