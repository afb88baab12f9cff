"""The pipelines ``bench/pipelines.py`` times, loaded by path as users load theirs:
``load_pipeline("bench/_pipelines_workload.py:fan")``.

- ``fan``: a 200-step fan-out/fan-in. One ``source`` step feeds ``leaves`` (default 100) parallel ``leaf``
  steps, whose outputs a binary tree of ``pair`` steps sums (``leaves - 1`` of them, 7 levels for 100
  leaves): 1 + 100 + 99 = 200 steps. A step parameter takes exactly one upstream output, so a wide fan-in
  is a reduction tree (one step reading 100 outputs would need 100 named parameters).
- ``chain``: ``length`` (default 20) ``inc`` steps in a line, each adding one to the previous output.

Every step is trivial integer arithmetic, so the time a run takes is the framework's own. ``*_in_process``
compute the same results by calling the same functions directly: the floor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


def reduce_pairwise(level: list[Any], combine: Callable[[Any, Any], Any]) -> Any:
    """Combine neighbours level by level (an odd one out moves up as it is) until one value is left."""
    while len(level) > 1:
        upper = [combine(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            upper.append(level[-1])
        level = upper
    return level[0]


@sy.pipeline(project="bench")
def fan(leaves: int = FAN_LEAVES):
    seed = source(leaves)
    return reduce_pairwise([leaf(seed, i) for i in range(leaves)], pair)


@sy.pipeline(project="bench")
def chain(length: int = CHAIN_LENGTH):
    value = inc(0)
    for _ in range(length - 1):
        value = inc(value)
    return value


def fan_in_process(leaves: int = FAN_LEAVES) -> int:
    """``fan``'s 200 function calls in this process, in a plain loop."""
    seed = source.fn(leaves)
    return reduce_pairwise([leaf.fn(seed, i) for i in range(leaves)], pair.fn)


def chain_in_process(length: int = CHAIN_LENGTH) -> int:
    value = inc.fn(0)
    for _ in range(length - 1):
        value = inc.fn(value)
    return value


def fan_steps(leaves: int = FAN_LEAVES) -> int:
    return 1 + leaves + (leaves - 1)


def fan_expected(leaves: int = FAN_LEAVES) -> int:
    return sum(leaves + i for i in range(leaves))
