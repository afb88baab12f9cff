"""Defining pipelines: ``@step`` functions, and the DAG a ``@pipeline`` function's body records (``_pipeline``).

Calling a step inside a pipeline's body runs nothing: it records a node and returns an ``OutputRef``
standing for the step's future output. Building the DAG checks it before anything runs: every required
parameter is given, every output fits the parameter it feeds, literal parameters are JSON values, and
the graph has no cycle. Outside a pipeline a step is its plain function, so it can be unit-tested.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import json
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from shipyard.core import validation as v
from shipyard.core.entities import DatasetVersion
from shipyard.core.errors import InvalidInput
from shipyard.core.validation import parse_duration
from shipyard.pipelines.types import compatible, type_name

F = TypeVar("F", bound=Callable[..., Any])


class PipelineDefinitionError(InvalidInput):
    """A pipeline that cannot run as written: a missing parameter, a type mismatch, a cycle, …"""


class Step:
    """A plain function that a pipeline runs as one recorded, cached, retried unit. Made by ``@sy.step``."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        retries: int = 0,
        retry_delay: float | str = 1.0,
        timeout: float | str | None = None,
        cache: bool = True,
        register: str | None = None,
        dependencies: Sequence[str] = (),
    ) -> None:
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise InvalidInput(f"retries of step {fn.__name__!r} must be a whole number >= 0; got {retries!r}.")
        self.fn = fn
        self.name = v.check_name(name or fn.__name__, "step")
        self.retries = retries
        self.retry_delay = parse_duration(retry_delay, f"retry_delay of step {self.name!r}") or 1.0
        self.timeout = parse_duration(timeout, f"timeout of step {self.name!r}")
        self.cache = bool(cache)
        self.register = register
        self.dependencies = tuple(dependencies)
        self.signature = inspect.signature(fn)
        hints = type_hints(fn)
        self.param_types = {p: hints.get(p) for p in self.signature.parameters}
        self.outputs = _outputs(hints.get("return"))
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        builder = _building.get()
        if builder is None:
            return self.fn(*args, **kwargs)
        return builder.add(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<shipyard step {self.name}>"


def type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """``fn``'s annotations, resolved; none if one names something not importable here."""
    try:
        return typing.get_type_hints(fn)
    except Exception:  # an annotation naming something not importable here: judge nothing
        return {}


def _outputs(annotation: Any) -> list[tuple[str, Any]]:
    """(name, type) of each output: ``output`` for one value, ``output_0``… for a ``tuple[A, B]`` return."""
    if typing.get_origin(annotation) is tuple:
        args = typing.get_args(annotation)
        if args and args[-1] is not Ellipsis:
            return [(f"output_{i}", arg) for i, arg in enumerate(args)]
    return [("output", annotation)]


@overload
def step(fn: F, /) -> Step: ...
@overload
def step(
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay: float | str = 1.0,
    timeout: float | str | None = None,
    cache: bool = True,
    register: str | None = None,
    dependencies: Sequence[str] = (),
) -> Callable[[F], Step]: ...


def step(fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Make a function a pipeline step.

    ``retries`` (with exponential backoff from ``retry_delay``), ``timeout`` (``"10m"``: the step's
    process is stopped), ``cache=False`` (always run), ``register="churn"`` (register a ``sy.Model``
    output as the next version of that model), ``dependencies=["scikit-learn"]`` (their installed
    versions are part of the cache key).
    """
    if fn is not None:
        return Step(fn, **options)
    return lambda f: Step(f, **options)


@dataclass(frozen=True)
class OutputRef:
    """A step's output inside a pipeline's body: known only when the pipeline runs."""

    node: str
    output: str
    type: Any

    def __bool__(self) -> bool:
        raise PipelineDefinitionError(
            f"The output of step {self.node!r} is only known when the pipeline runs; a pipeline's body can pass "
            "it to other steps but not test or compute with it. Move that logic into a step."
        )

    def __iter__(self) -> Any:
        raise PipelineDefinitionError(
            f"Step {self.node!r} has one output; to return several, annotate it `-> tuple[A, B]`."
        )


@dataclass
class Node:
    """One call of a step in a pipeline: literal parameters, and the outputs it reads."""

    name: str
    step: Step
    params: dict[str, Any]
    inputs: dict[str, OutputRef | DatasetVersion]
    upstream: list[str] = field(default_factory=list)


@dataclass
class Dag:
    """The nodes of one pipeline build, in the order they were called, and what the pipeline returns."""

    pipeline: str
    nodes: dict[str, Node]
    result: Any = None

    def validate(self) -> list[str]:
        """The nodes in an order where each comes after everything it reads; a cycle is an error naming it."""
        order: list[str] = []
        state: dict[str, int] = {}  # 1 = on the path being walked, 2 = done

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = [*path[path.index(name) :], name]
                raise PipelineDefinitionError(f"Pipeline {self.pipeline!r} has a cycle: {' -> '.join(cycle)}.")
            if name not in self.nodes:
                raise PipelineDefinitionError(f"Pipeline {self.pipeline!r}: {path[-1]!r} reads unknown node {name!r}.")
            state[name] = 1
            for upstream in self.nodes[name].upstream:
                visit(upstream, [*path, name])
            state[name] = 2
            order.append(name)

        for name in self.nodes:
            visit(name, [])
        return order

    def downstream(self, name: str) -> set[str]:
        """Every node that reads ``name``'s outputs, directly or not."""
        found: set[str] = set()
        frontier = [name]
        while frontier:
            current = frontier.pop()
            for other in self.nodes.values():
                if current in other.upstream and other.name not in found:
                    found.add(other.name)
                    frontier.append(other.name)
        return found


class _Builder:
    def __init__(self, pipeline: str) -> None:
        self.dag = Dag(pipeline, {})
        self._counts: dict[str, int] = {}

    def add(self, step: Step, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        count = self._counts.get(step.name, 0) + 1
        self._counts[step.name] = count
        name = step.name if count == 1 else f"{step.name}_{count}"
        where = f"Step {step.name!r} (node {name!r} of pipeline {self.dag.pipeline!r})"
        try:
            bound = step.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise PipelineDefinitionError(f"{where} was called with the wrong arguments: {exc}.") from None
        bound.apply_defaults()
        params: dict[str, Any] = {}
        inputs: dict[str, OutputRef | DatasetVersion] = {}
        for param, value in bound.arguments.items():
            wanted = step.param_types.get(param)
            if isinstance(value, OutputRef):
                if not compatible(value.type, wanted):
                    raise PipelineDefinitionError(
                        f"{where}: parameter {param!r} wants {type_name(wanted)}, but step {value.node!r} "
                        f"returns {type_name(value.type)}. Change one annotation or convert in a step."
                    )
                inputs[param] = value
            elif isinstance(value, DatasetVersion):
                inputs[param] = value
            else:
                params[param] = _json_param(value, where, param)
        upstream = sorted({ref.node for ref in inputs.values() if isinstance(ref, OutputRef)})
        self.dag.nodes[name] = Node(name, step, params, inputs, upstream)
        refs = [OutputRef(name, output, annotation) for output, annotation in step.outputs]
        return tuple(refs) if len(refs) > 1 else refs[0]


def _json_param(value: Any, where: str, param: str) -> Any:
    try:
        json.dumps(value, allow_nan=True, sort_keys=True)
    except (TypeError, ValueError):
        raise PipelineDefinitionError(
            f"{where}: parameter {param!r} is a {type(value).__name__}; literal parameters must be JSON values "
            "(numbers, strings, lists, dicts) so they can be recorded and cached. Pass tables and models "
            "through steps, or a dataset version (sy.datasets.get(...))."
        ) from None
    return value


_building: contextvars.ContextVar[_Builder | None] = contextvars.ContextVar("shipyard_pipeline_builder", default=None)


def record_dag(pipeline: str, body: Callable[..., Any], values: Mapping[str, Any]) -> Dag:
    """Call a pipeline's ``body`` with ``values`` while every step call records a node: the DAG, unchecked."""
    builder = _Builder(pipeline)
    token = _building.set(builder)
    try:
        builder.dag.result = body(**values)
    finally:
        _building.reset(token)
    return builder.dag
