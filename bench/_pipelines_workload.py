"""The pipelines ``bench/pipelines.py`` times, loaded by path as users load theirs:
``load_pipeline("bench/_pipelines_workload.py:fan")``.

- ``fan``: a 200-step fan-out/fan-in. One ``source`` step feeds ``leaves`` (default 100) parallel ``leaf``
  steps; their outputs are summed by a binary tree of ``pair`` steps (``leaves - 1`` of them, 7 levels for
  100 leaves). 1 + 100 + 99 = 200 steps. A step parameter takes exactly one upstream output, so a wide
  fan-in is a reduction tree; a single 100-input step would need 100 named parameters.
- ``chain``: ``length`` (default 20) ``inc`` steps in a line, each adding one to the previous output.

Every step is trivial (integer arithmetic): the time a run takes is the framework's own.
"""

from __future__ import annotations

import shipyard as sy

FAN_LEAVES = 100  # 1 source + 100 leaves + 99 pairs = 200 steps
CHAIN_LENGTH = 20


@sy.step
def source(n: int) -> int:
    return n


@sy.step
def leaf(seed: int, i: int) -> int:
    return seed + i


@sy.step
def pair(a: int, b: int) -> int:
    return a + b


@sy.step
def inc(x: int) -> int:
    return x + 1


@sy.pipeline(project="bench")
def fan(leaves: int = FAN_LEAVES):
    seed = source(leaves)
    level = [leaf(seed, i) for i in range(leaves)]
    while len(level) > 1:  # reduce pairwise; an odd one out moves up a level as it is
        nxt = [pair(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


@sy.pipeline(project="bench")
def chain(length: int = CHAIN_LENGTH):
    value = inc(0)
    for _ in range(length - 1):
        value = inc(value)
    return value


def fan_steps(leaves: int = FAN_LEAVES) -> int:
    return 1 + leaves + (leaves - 1)


def fan_expected(leaves: int = FAN_LEAVES) -> int:
    """What ``fan`` returns: the sum of ``leaves + i`` over ``i < leaves``."""
    return sum(leaves + i for i in range(leaves))
