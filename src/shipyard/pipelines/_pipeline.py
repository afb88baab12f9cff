"""``Pipeline``: a function whose body wires steps into a DAG, made by ``@sy.pipeline``, run with ``.run()``.

It sits above the runner (``.run()`` calls it) and the step and DAG definitions below both, so that the
runner, which only types its argument as a ``Pipeline``, does not import it back.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

from shipyard.core import validation as v
from shipyard.core.errors import InvalidInput
from shipyard.pipelines.definition import Dag, PipelineDefinitionError, record_dag, type_hints
from shipyard.pipelines.runner import PipelineRun, run_pipeline

if TYPE_CHECKING:
    from shipyard.tracking import Client

F = TypeVar("F", bound=Callable[..., Any])


class Pipeline:
    """A function whose body wires steps into a DAG. Made by ``@sy.pipeline``; run with ``.run()``."""

    def __init__(self, fn: Callable[..., Any], *, name: str | None = None, project: str | None = None) -> None:
        self.fn = fn
        self.name = v.check_name(name or fn.__name__, "pipeline")
        self.project = project
        self.signature = inspect.signature(fn)
        self.param_types = {p: type_hints(fn).get(p) for p in self.signature.parameters}
        self.target: str | None = None
        """``path.py:name`` when loaded from a file, so that a run can be resumed or scheduled."""
        functools.update_wrapper(self, fn)

    def defaults(self) -> dict[str, Any]:
        return {
            name: p.default for name, p in self.signature.parameters.items() if p.default is not inspect.Parameter.empty
        }

    def bind(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every parameter's value: ``params`` over the defaults. Unknown or missing names are errors."""
        given = dict(params or {})
        known = list(self.signature.parameters)
        unknown = [name for name in given if name not in known]
        if unknown:
            raise InvalidInput(
                f"Pipeline {self.name!r} has no parameter {unknown[0]!r}. Its parameters: {', '.join(known) or 'none'}."
            )
        values = {**self.defaults(), **given}
        missing = [name for name in known if name not in values]
        if missing:
            raise InvalidInput(
                f"Pipeline {self.name!r} needs a value for {', '.join(map(repr, missing))} (no default)."
            )
        return values

    def build(self, params: Mapping[str, Any] | None = None) -> Dag:
        """Call the body with the parameters to record the DAG (running no step), and check it."""
        dag = record_dag(self.name, self.fn, self.bind(params))
        if not dag.nodes:
            raise PipelineDefinitionError(f"Pipeline {self.name!r} calls no step; decorate its steps with @sy.step.")
        dag.validate()
        return dag

    def run(
        self,
        *,
        params: Mapping[str, Any] | None = None,
        executor: str = "local",
        workers: int | None = None,
        cache: bool = True,
        address: str | None = None,
        client: Client | None = None,
    ) -> PipelineRun:
        """Run the pipeline and wait for it; see ``shipyard.pipelines.runner.run_pipeline``."""
        return run_pipeline(
            self, params, executor=executor, workers=workers, cache=cache, address=address, client=client
        )

    def __call__(self, **params: Any) -> PipelineRun:
        """Run with these parameters on the local executor: ``training(lr=0.05)``."""
        return self.run(params=params)

    def __repr__(self) -> str:
        return f"<shipyard pipeline {self.name}>"


@overload
def pipeline(fn: F, /) -> Pipeline: ...
@overload
def pipeline(*, name: str | None = None, project: str | None = None) -> Callable[[F], Pipeline]: ...


def pipeline(fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Make a function a pipeline: its body calls steps, its parameters are the pipeline's parameters."""
    if fn is not None:
        return Pipeline(fn, **options)
    return lambda f: Pipeline(f, **options)


__all__ = ["Pipeline", "pipeline"]
