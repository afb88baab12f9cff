"""The Metaflow side of ``bench/pipelines.py``'s fan-out/fan-in: the shape of ``_pipelines_workload.fan``.

    bench/.venv-metaflow/bin/python bench/_metaflow_fan.py --no-pylint run --max-workers 2 --max-num-splits 500

``start`` fans out with ``foreach`` over ``FAN_ITEMS`` trivial ``leaf`` tasks, ``join`` sums their values,
``end`` ends: 197 + 3 = 200 tasks, the step count of Shipyard's ``fan``. Metaflow's local runtime runs every
task in its own new Python process. Runs with ``bench/.venv-metaflow``'s python, never the project's.
"""

import os

from metaflow import FlowSpec, step

FAN_ITEMS = int(os.environ.get("BENCH_FAN_ITEMS", "197"))


class FanFlow(FlowSpec):
    @step
    def start(self):
        self.seed = FAN_ITEMS
        self.items = list(range(FAN_ITEMS))
        self.next(self.leaf, foreach="items")

    @step
    def leaf(self):
        self.value = self.seed + self.input
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(task.value for task in inputs)
        self.next(self.end)

    @step
    def end(self):
        assert self.total == sum(FAN_ITEMS + i for i in range(FAN_ITEMS)), self.total


if __name__ == "__main__":
    FanFlow()
