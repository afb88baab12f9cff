"""``POST /api/v1/gate/evaluate``: the server runs the gate for its callers, and only the server.

A verdict is worth something only if the client cannot forge it, so the gate runs here: under the policy in
force in the server's store (never a file the caller sends), the verdict and its report stored by the server
with the caller as actor. The request needs the editor role in the project. The work runs in a process the
server owns (a pool started on first use with the ``spawn`` context, ``max_workers`` at most), not in the
request's thread: a gate run loads a model and predicts for seconds or minutes. Each worker opens the
server's store itself and runs the same ``Gate`` a laptop runs, told to read no ``shipyard.toml`` of the
server's own; model loading stays safe-format-only unless the policy in force sets ``allow_unsafe``.

A worker that dies (the out-of-memory killer, a segfault in a model's native code) breaks the whole pool:
the requests it held answer ``ModelFailed`` (no verdict), and the next request gets a new pool.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import multiprocessing
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from fastapi import Depends, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from shipyard.client import codec, wire
from shipyard.client.transport import error_from
from shipyard.core.entities_accounts import Principal
from shipyard.core.errors import ModelFailed

if TYPE_CHECKING:
    from fastapi import FastAPI

    from shipyard.server.context import ServerContext
    from shipyard.tracking.client import Client

PATH = f"{wire.API}/gate/evaluate"
DEFAULT_WORKERS = 2
MAX_MODELS = 20
OPERATION = wire.Operation("gate", "gate", "evaluate", wire.Access("editor", project="project"), (), None)
"""How ``authorize`` sees the route: the editor role in the request's project, a refusal audited."""


class EvaluateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project: str = Field(min_length=1, description="The project of the models and the data.")
    models: list[str] = Field(min_length=1, max_length=MAX_MODELS, description="NAME@VERSION refs, judged together.")
    data: str | None = Field(None, description="The eval dataset, NAME[@VERSION]; default the policy's [gate] data.")


class GateRunner:
    """The server's pool of gate processes, started on first use; each opens the store named by ``store``."""

    def __init__(self, store: dict[str, str], max_workers: int = DEFAULT_WORKERS) -> None:
        self._store = store
        self._max_workers = max_workers
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self._max_workers, mp_context=multiprocessing.get_context("spawn"))
            return self._pool

    async def evaluate(self, request: EvaluateRequest, actor: str) -> list[dict[str, Any]]:
        job = functools.partial(run_gate, self._store, request.project, request.models, request.data, actor)
        pool = self._executor()
        try:
            future = pool.submit(job)
        except BrokenProcessPool:  # a worker died before this request: nothing of it ran, so a fresh pool takes it
            self._discard(pool)
            pool = self._executor()
            future = pool.submit(job)
        try:
            answer: dict[str, Any] = await asyncio.wrap_future(future)
        except BrokenProcessPool as died:
            self._discard(pool)
            raise ModelFailed(
                f"The server's gate process ended abruptly while judging {', '.join(request.models)} (killed, out of "
                "memory, or crashed by a model's native code), so no verdict came back. The next gate run gets new "
                "gate processes: run it again; if it ends the same way, look in the server's log and at how much "
                "memory the model needs."
            ) from died
        if "error" in answer:
            raise error_from(400, answer, "")
        verdicts: list[dict[str, Any]] = answer["verdicts"]
        return verdicts

    def _discard(self, broken: ProcessPoolExecutor) -> None:
        """Forget a pool whose worker died (every later submit to it would fail), once for all its requests."""
        with self._lock:
            if self._pool is broken:
                self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)  # its workers are ended already; wait for nothing

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None


def store_of(context: ServerContext) -> dict[str, str]:
    """What a gate process needs to open the server's own store: its database URL and artifact store."""
    backend = context.backend
    return {
        "uri": backend.store.engine.url.render_as_string(hide_password=False),
        "artifacts": backend.blobs.url,
    }


def add_routes(app: FastAPI, context: ServerContext, *, max_workers: int = DEFAULT_WORKERS) -> GateRunner:
    """The gate route; the runner (``app.state.gate``) holds the pool, and ``close()`` stops it."""
    runner = GateRunner(store_of(context), max_workers)
    app.state.gate = runner

    async def evaluate(body: EvaluateRequest, principal: Principal) -> Response:
        await run_in_threadpool(context.check, OPERATION, {"project": body.project}, principal)
        verdicts = await runner.evaluate(body, principal.name)
        return Response(codec.dumps({"verdicts": verdicts}), media_type="application/json")

    # Annotations are strings here (``from __future__``), and the dependency is this context's: spelled out.
    evaluate.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=EvaluateRequest),
            inspect.Parameter(
                "principal",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=Principal,
                default=Depends(context.principal),
            ),
        ],
        return_annotation=Response,
    )
    app.add_api_route(
        PATH,
        evaluate,
        methods=["POST"],
        name="gate.evaluate",
        summary="gate.evaluate",
        tags=["gate"],
        openapi_extra={"x-shipyard-role": "editor"},
        response_class=Response,
    )

    return runner


# in the gate process ----------------------------------------------------------------------------------

_clients: dict[tuple[str, str], Client] = {}
"""The store each gate process has open, kept for the process's next request (one per store)."""


def run_gate(store: dict[str, str], project: str, models: list[str], data: str | None, actor: str) -> dict[str, Any]:
    """Judge ``models`` as ``actor`` under the policy in force; the verdicts, or the error a caller should see."""
    from shipyard.core.actor import acting_as
    from shipyard.core.errors import ShipyardError
    from shipyard.gates import Gate

    try:
        client = _client(store)
        with acting_as(actor):
            verdicts = Gate(client, files=False).evaluate_many(list(models), data=data, project=project)
    except ShipyardError as exc:  # sent back by name: the request answers its own status and message
        return {"error": exc.code, "message": str(exc)}
    return {"verdicts": [v.to_dict() for v in verdicts]}


def _client(store: dict[str, str]) -> Client:
    from shipyard.tracking.client import Client

    key = (store["uri"], store["artifacts"])
    if key not in _clients:
        _clients[key] = Client(
            store["uri"], artifacts=store["artifacts"], capture_environment=False, cwd=tempfile.gettempdir()
        )
    return _clients[key]
