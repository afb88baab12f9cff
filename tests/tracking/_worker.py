"""A tracking process driven by the tests: ``python _worker.py MODE URI ARTIFACTS``.

It prints ``ready``, waits for a line on stdin, then works:
- ``crash``: logs 10,000 points, flushes, prints the run id, and waits to be killed.
- ``log``: opens the store, logs 3,000 points with a small buffer, ends its run, prints the run id.
- ``exit``: logs 500 points that only interpreter exit can flush, prints the run id, returns.
- ``raise``: the same, then dies of an uncaught exception.
"""

import sys

import shipyard as sy


def main() -> None:
    mode, uri, artifacts = sys.argv[1:4]
    print("ready", flush=True)
    sys.stdin.readline()
    client = sy.Client(uri, artifacts=artifacts, capture_environment=False, flush_max_points=200, flush_interval=0.01)
    if mode == "crash":
        run = client.start_run(project="crash")
        for step in range(10_000):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        run.flush()
        print(run.id, flush=True)
        sys.stdin.readline()  # blocks until the test kills us
    elif mode in ("exit", "raise"):
        lazy = sy.Client(uri, artifacts=artifacts, capture_environment=False, flush_interval=3600)
        run = lazy.start_run(project="exits")
        for step in range(500):
            run.log_metric("loss", float(step), step=step)
        print(run.id, flush=True)
        if mode == "raise":
            raise RuntimeError("training blew up")
    else:
        with client.start_run(project="many") as run:
            run.log_params({"worker": str(run.id)})
            for step in range(3_000):
                run.log_metric("loss", float(step), step=step)
        print(run.id, flush=True)


if __name__ == "__main__":
    main()
