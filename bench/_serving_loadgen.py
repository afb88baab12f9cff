"""The fallback load generator of ``bench/serving.py``, used only when ``wrk`` cannot be installed.

    python bench/_serving_loadgen.py --url http://127.0.0.1:P/predict --body-file body.json \
        --connections 32 --duration 10

Closed loop, as ``wrk``: ``--connections`` keep-alive connections over raw sockets (asyncio, uvloop when
installed), each sending the next POST as soon as the previous response is in, for ``--duration``
seconds. Prints one JSON document with the same keys as the ``done()`` of ``bench/serving.py``'s wrk
script: requests, duration_us, p50_us, p99_us, max_us, non-2xx responses and socket errors. Standard
library only (plus uvloop if present). It is slower than wrk and shares the interpreter's overhead with
every connection, so on a 2-CPU machine its figures are a lower bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from urllib.parse import urlsplit


async def connection(
    host: str, port: int, request: bytes, deadline: float, latencies: list[float], counts: dict[str, int]
) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        counts["connect_errors"] += 1
        return
    try:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            headers = head.lower()
            if b"transfer-encoding: chunked" in headers:
                while True:
                    size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
            else:
                start = headers.find(b"content-length:")
                length = int(headers[start + 15 : headers.find(b"\r\n", start)]) if start >= 0 else 0
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            if not 200 <= status < 300:
                counts["non_2xx"] += 1
    except (OSError, asyncio.IncompleteReadError, ValueError):
        counts["read_errors"] += 1
    finally:
        writer.close()


async def run(url: str, body: bytes, connections: int, duration: float) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    counts = {"non_2xx": 0, "connect_errors": 0, "read_errors": 0}
    t0 = time.perf_counter()
    deadline = t0 + duration
    await asyncio.gather(*(connection(host, port, request, deadline, latencies, counts) for _ in range(connections)))
    elapsed = time.perf_counter() - t0
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {
        "requests": len(latencies),
        "duration_us": elapsed * 1e6,
        "p50_us": cuts[49] * 1e6 if cuts else 0.0,
        "p99_us": cuts[98] * 1e6 if cuts else 0.0,
        "max_us": max(latencies, default=0.0) * 1e6,
        "mean_us": statistics.fmean(latencies) * 1e6 if latencies else 0.0,
        "non_2xx": counts["non_2xx"],
        "connect_errors": counts["connect_errors"],
        "read_errors": counts["read_errors"],
        "write_errors": 0,
        "timeouts": 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--body-file", required=True)
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--duration", type=float, required=True)
    args = parser.parse_args()
    with open(args.body_file, "rb") as file:
        body = file.read()
    try:
        from uvloop import run as run_loop
    except ImportError:
        run_loop = asyncio.run
    print(json.dumps(run_loop(run(args.url, body, args.connections, args.duration))))


if __name__ == "__main__":
    main()
