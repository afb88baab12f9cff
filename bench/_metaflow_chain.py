"""The Metaflow side of ``bench/pipelines.py``'s re-run figure: 20 trivial steps in a line.

    bench/.venv-metaflow/bin/python bench/_metaflow_chain.py --no-pylint run --max-workers 2

``start``, ``s02`` … ``s19``, ``end``: 20 steps, each adding one to ``x`` (the shape of
``_pipelines_workload.chain``). Metaflow has no cache across runs, so running it again runs all 20 steps.
Metaflow builds the graph from the class's source, so the steps are written out one by one.
"""

from metaflow import FlowSpec, step


class ChainFlow(FlowSpec):
    @step
    def start(self):
        self.x = 1
        self.next(self.s02)

    @step
    def s02(self):
        self.x += 1
        self.next(self.s03)

    @step
    def s03(self):
        self.x += 1
        self.next(self.s04)

    @step
    def s04(self):
        self.x += 1
        self.next(self.s05)

    @step
    def s05(self):
        self.x += 1
        self.next(self.s06)

    @step
    def s06(self):
        self.x += 1
        self.next(self.s07)

    @step
    def s07(self):
        self.x += 1
        self.next(self.s08)

    @step
    def s08(self):
        self.x += 1
        self.next(self.s09)

    @step
    def s09(self):
        self.x += 1
        self.next(self.s10)

    @step
    def s10(self):
        self.x += 1
        self.next(self.s11)

    @step
    def s11(self):
        self.x += 1
        self.next(self.s12)

    @step
    def s12(self):
        self.x += 1
        self.next(self.s13)

    @step
    def s13(self):
        self.x += 1
        self.next(self.s14)

    @step
    def s14(self):
        self.x += 1
        self.next(self.s15)

    @step
    def s15(self):
        self.x += 1
        self.next(self.s16)

    @step
    def s16(self):
        self.x += 1
        self.next(self.s17)

    @step
    def s17(self):
        self.x += 1
        self.next(self.s18)

    @step
    def s18(self):
        self.x += 1
        self.next(self.s19)

    @step
    def s19(self):
        self.x += 1
        self.next(self.end)

    @step
    def end(self):
        self.x += 1
        assert self.x == 20, self.x


if __name__ == "__main__":
    ChainFlow()
