"""The load generator of ``bench/serving.py``: ``wrk`` driven by a Lua script that times every request itself.

``LoadGen.run`` returns, per level, requests/s, the requests' own (closed-loop) p50/p99/max from the
script's histogram, and wrk's coordinated-omission-corrected p50/p99 (``p50_corrected_us``,
``p99_corrected_us``). When ``wrk`` is missing it is installed with apt-get; failing that,
``bench/_serving_loadgen.py`` (asyncio) stands in, and says so.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOADGEN_FALLBACK = Path(__file__).resolve().parent / "_serving_loadgen.py"
LOADGEN_CPU = 1
WRK_TIMEOUT = "10s"  # a request slower than this counts as an error (wrk's default of 2 s could hit MLflow)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def short(exc: BaseException | str) -> str:
    text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    return (text.strip().splitlines() or [""])[0][:300]


# Latency is timed in the script, not taken from wrk's histogram: wrk hands done() (and --latency prints)
# a histogram "corrected" for coordinated omission (stats_correct in wrk.c: every response slower than twice
# the mean interval adds made-up samples at that latency minus 1, 2, 3 ... intervals), which models an
# open-loop client, and Debian's wrk 4.1.0 cannot read that histogram's buckets from Lua to undo it. So
# each wrk thread drives exactly one connection (-t N -c N: one request in flight per thread), request()
# notes the send time (LuaJIT's ffi, CLOCK_MONOTONIC), response() the latency in 1 us buckets, and done()
# merges the threads' histograms into a file. wrk's own corrected p50/p99 are kept in the JSON.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"

local ffi = require("ffi")
ffi.cdef[[
typedef struct {{ long tv_sec; long tv_nsec; }} bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local threads = {{}}
local req, sent
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  req = wrk.format()
  non2xx = 0
  hist = {{}}
end
function request()
  sent = now_us()
  return req
end
function response(status, headers, body)
  local us = math.floor(now_us() - sent)
  hist[us] = (hist[us] or 0) + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end
function done(summary, latency, requests)
  local bad, merged = 0, {{}}
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
    for us, count in pairs(thread:get("hist")) do
      merged[us] = (merged[us] or 0) + count
    end
  end
  local out = assert(io.open([==[{histogram}]==], "w"))
  for us, count in pairs(merged) do
    out:write(string.format("%d %d\\n", us, count))
  end
  out:close()
  local e = summary.errors
  io.write(string.format(
    '{{"requests": %d, "duration_us": %d, "p50_corrected_us": %.1f, "p99_corrected_us": %.1f, "max_us": %.1f, '
    .. '"non_2xx": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    bad, e.connect, e.read, e.write, e.timeout))
end
"""


def percentile(histogram: dict[int, int], p: float) -> float | None:
    """wrk's own definition: the first bucket whose cumulative count reaches round(p/100 * count + 0.5)."""
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = round(p / 100 * total + 0.5), 0
    for us in sorted(histogram):
        seen += histogram[us]
        if seen >= rank:
            return float(us)
    return float(max(histogram))


@dataclass
class LoadGen:
    kind: str  # "wrk" or "python"
    version: str
    taskset: str | None
    note: str = ""

    def run(self, url: str, body_file: Path, connections: int, duration: int, tmp: Path) -> dict[str, Any]:
        histogram = tmp / "wrk-histogram.txt"
        if self.kind == "wrk":
            script = tmp / f"{body_file.stem}.lua"
            if not script.exists():
                script.write_text(WRK_SCRIPT.format(body=body_file.read_text(), histogram=histogram))
            histogram.unlink(missing_ok=True)
            command = ["wrk", f"-t{connections}", f"-c{connections}", f"-d{duration}s", f"--timeout={WRK_TIMEOUT}"]
            command += ["-s", str(script), url]
        else:
            command = [sys.executable, str(LOADGEN_FALLBACK), "--url", url, "--body-file", str(body_file)]
            command += ["--connections", str(connections), "--duration", str(duration)]
        if self.taskset:
            command = [self.taskset, "-c", str(LOADGEN_CPU), *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120)
        lines = [line for line in done.stdout.splitlines() if line.startswith('{"requests"')]
        if done.returncode != 0 or not lines:
            raise RuntimeError(f"{self.kind} exited {done.returncode}: {(done.stderr or done.stdout).strip()[-400:]}")
        result = json.loads(lines[-1])
        if self.kind == "wrk":
            timed = {}
            for line in histogram.read_text().splitlines():
                us, count = line.split()
                timed[int(us)] = int(count)
            result.update(
                p50_us=percentile(timed, 50),
                p99_us=percentile(timed, 99),
                max_us=float(max(timed, default=0)),
                mean_us=sum(us * n for us, n in timed.items()) / max(1, sum(timed.values())),
                timed_requests=sum(timed.values()),
            )
        result["errors"] = sum(
            result[k] for k in ("non_2xx", "connect_errors", "read_errors", "write_errors", "timeouts")
        )
        result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
        return result


def resolve_loadgen(taskset: str | None) -> LoadGen:
    """``wrk`` from PATH, else installed with apt-get, else the Python fallback (said so in the output)."""
    note = ""
    if shutil.which("wrk") is None:
        log("wrk is not on PATH: installing it with `apt-get install -y wrk` ...")
        try:
            done = subprocess.run(
                ["apt-get", "install", "-y", "wrk"], capture_output=True, text=True, timeout=600, check=False
            )
            if done.returncode != 0 or shutil.which("wrk") is None:
                raise RuntimeError(short(done.stderr or done.stdout or f"exit code {done.returncode}"))
            note = "wrk was installed by this run (apt-get install -y wrk)"
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
            reason = short(exc)
            log(f"  cannot install wrk ({reason}); falling back to the Python load generator")
            return LoadGen(
                "python",
                platform.python_version(),
                taskset,
                f"wrk unavailable ({reason}): the Python asyncio load generator (bench/_serving_loadgen.py) was "
                "used instead; it is much slower than wrk, so at high concurrency the figures are lower bounds",
            )
    done = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    first = ((done.stdout or done.stderr).strip().splitlines() or ["wrk"])[0]
    version = first.split(" Copyright")[0]  # "wrk debian/4.1.0-3+b2 [epoll]"
    return LoadGen("wrk", version, taskset, note)
