"""Where a ``/predict`` request's CPU goes, in process: the serving app driven with a fake ASGI receive/send.

    PYTHONPATH=src .venv/bin/python bench/_serving_profile.py              # log on, 32 clients
    PYTHONPATH=src .venv/bin/python bench/_serving_profile.py --no-log
    PYTHONPATH=src .venv/bin/python bench/_serving_profile.py --profile 25  # + cProfile of the event loop

No HTTP and no load generator: ``--clients`` coroutines each send ``--requests`` single-row requests (the
20 floats of ``bench/serving.py``) straight into the app, after its lifespan has started it. It prints the
CPU time per request of each thread of the process, read from ``/proc/self/task`` (the event loop, the
model's prediction thread, the prediction log's writer), which is what one core shares when the server
is pinned to it, and optionally the event loop's cProfile (cProfile slows what it watches: read its
shares, not its times). Run it under the bench lock; it is Linux only.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.serving.app import create_app
from shipyard.serving.deployment import ServeOptions

FEATURES = 20


def thread_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of each thread of this process, by native id."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def thread_label(native_id: int) -> str:
    for thread in threading.enumerate():
        if thread.native_id == native_id:
            name = thread.name
            if thread is threading.main_thread():
                return "event loop"
            if name.startswith("predict-"):
                return "prediction thread"
            if name.startswith("shipyard-predlog"):
                return "log writer"
            return name
    return f"thread {native_id}"


async def drive(app: Any, clients: int, requests: int, body: bytes, profile: cProfile.Profile | None) -> dict[str, Any]:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "method": "POST", "path": "/predict", "root_path": "", "query_string": b""}
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def client(n: int) -> None:
        for _ in range(n):
            await app({**scope, "headers": headers}, receive, send)

    lifespan: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started = asyncio.Event()

    async def lifespan_send(message: dict[str, Any]) -> None:
        started.set()

    await lifespan.put({"type": "lifespan.startup"})
    task = asyncio.get_running_loop().create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, lifespan.get, lifespan_send)
    )
    await started.wait()
    await asyncio.gather(*(client(200) for _ in range(clients)))  # warm up, and past the first log segment's imports
    before, wall = thread_cpu(), time.perf_counter()
    if profile is not None:
        profile.enable()
    await asyncio.gather(*(client(requests) for _ in range(clients)))
    if profile is not None:
        profile.disable()
    wall, after = time.perf_counter() - wall, thread_cpu()
    count = clients * requests
    per_thread = {
        thread_label(tid): (seconds - before.get(tid, 0.0)) / count * 1e6
        for tid, seconds in after.items()
        if seconds - before.get(tid, 0.0) > 0
    }
    await lifespan.put({"type": "lifespan.shutdown"})
    await task
    return {"per_thread_us": per_thread, "wall_us": wall / count * 1e6, "statuses": sorted(set(statuses))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=1000, help="per client")
    parser.add_argument("--no-log", action="store_true", help="serve with the prediction log off")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the event loop's top N functions")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(10_000, FEATURES)), columns=[f"f{i}" for i in range(FEATURES)])
    model = LogisticRegression(max_iter=1000).fit(frame, (frame["f0"] + frame["f1"] > 0).astype(int))
    row = {name: float(value) for name, value in frame.iloc[0].items()}
    with tempfile.TemporaryDirectory(prefix="shipyard-serving-profile-") as folder:
        client = shipyard.Client(str(Path(folder) / ".shipyard"), capture_environment=False, cwd=folder)
        version = client.models.log(model, "bench", train_data=frame, project="default")
        app = create_app(client, ServeOptions(ref=version.ref, log_predictions=not args.no_log))
        profile = cProfile.Profile() if args.profile else None
        import uvloop

        result = uvloop.run(drive(app, args.clients, args.requests, orjson.dumps({"rows": [row]}), profile))
        client.close()
    total = sum(result["per_thread_us"].values())
    shares = ", ".join(f"{name} {us:.1f}" for name, us in sorted(result["per_thread_us"].items(), key=lambda i: -i[1]))
    print(
        f"log {'off' if args.no_log else 'on'}, {args.clients} clients x {args.requests} requests: CPU per request "
        f"{total:.1f} us ({shares}); wall {result['wall_us']:.1f} us; statuses {result['statuses']}"
    )
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.profile)


if __name__ == "__main__":
    main()
