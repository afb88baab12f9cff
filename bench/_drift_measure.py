"""What every side of the drift benchmark shares once it runs in its own interpreter: memory, timing, output.

Standard library only (the Evidently side runs it under ``bench/.venv-evidently``). A side prints one JSON
object per line on stdout (``emit``) as it goes, so a side killed by its timeout still hands back the
samples it finished; ``bench/drift.py`` reads them all.

Memory is read from ``/proc/self/status``: ``VmRSS`` now and ``VmHWM``, the peak since the process began
or since the last ``reset_peak()`` (writing ``5`` to ``/proc/self/clear_refs``, Linux 4.0+). A phase's peak
is therefore the most the process held during that phase, the tables it had loaded included.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def rss() -> int:
    return _status("VmRSS")


class Memory:
    """The process's peak RSS over its whole life, and per phase when the kernel lets the peak be reset."""

    def __init__(self) -> None:
        self.process_peak = 0
        self.resettable = True

    def start_phase(self) -> int:
        """Reset the peak (keeping the process's own); return the RSS the phase starts from."""
        gc.collect()
        self.process_peak = max(self.process_peak, _status("VmHWM"))
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            self.resettable = False
        return rss()

    def phase_peak(self) -> int | None:
        """The peak RSS since ``start_phase`` (None when the peak could not be reset)."""
        peak = _status("VmHWM")
        self.process_peak = max(self.process_peak, peak)
        return peak if self.resettable else None

    def peak(self) -> int:
        self.process_peak = max(self.process_peak, _status("VmHWM"))
        return self.process_peak


def emit(**record: Any) -> None:
    print(json.dumps(record, default=float), flush=True)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def measure(
    name: str,
    fn: Callable[[], Any],
    repeat: int,
    memory: Memory,
    budget_s: float = float("inf"),
    calls: int = 1,
) -> tuple[dict[str, Any], Any]:
    """Time ``fn`` ``repeat`` times (each sample the median of ``calls`` calls) and emit each sample.

    Stops early, after at least one sample, once another sample would likely end past ``budget_s`` seconds
    from the start. Returns the phase's record (samples, peak RSS) and the last call's result.
    """
    start_rss = memory.start_phase()
    samples: list[float] = []
    began = time.perf_counter()
    out: Any = None
    for i in range(repeat):
        gc.collect()
        per_call = []
        for _ in range(calls):
            out = None  # the last result is released before the next call, so two are never held at once
            seconds, out = timed(fn)
            per_call.append(seconds)
        per_call.sort()
        samples.append(per_call[len(per_call) // 2])
        emit(event="sample", phase=name, seconds=samples[-1])
        log(f"  {name}: {i + 1}/{repeat} {samples[-1]:.4f} s")
        elapsed = time.perf_counter() - began
        if i + 1 < repeat and elapsed + max(samples) > budget_s:
            log(f"  {name}: stopping after {i + 1} of {repeat} samples (time budget {budget_s:.0f} s)")
            break
    record = {
        "samples": samples,
        "requested": repeat,
        "calls_per_sample": calls,
        "start_rss": start_rss,
        "peak_rss": memory.phase_peak(),
    }
    emit(event="phase", phase=name, **record)
    return record, out
