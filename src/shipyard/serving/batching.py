"""Adaptive micro-batching: concurrent requests for one model are predicted in one call.

There is no fixed wait. A request that finds the model idle is predicted at once (after one turn of the
event loop, so requests that arrived together go together). While the model is busy with a batch, new
requests queue; when it finishes they all go as the next batch, up to ``max_batch_rows``. An idle server
therefore answers a lone request without waiting, and a loaded one predicts in batches as large as the
load makes them. Predictions run on one thread of their own, so the event loop keeps reading requests
(and answering ``/health``) while the model works.

If the model raises on a batch, each request of it is predicted alone, so only the requests the model
cannot handle fail, with the model's error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shipyard.serving.model import ServedModel
from shipyard.serving.validation import Batch


class MicroBatcher:
    def __init__(
        self,
        model: ServedModel,
        *,
        max_batch_rows: int = 256,
        on_batch: Callable[[int], None] | None = None,
        scores: bool = False,
    ) -> None:
        self.model = model
        self.max_batch_rows = max_batch_rows
        self.scores = scores
        self._on_batch = on_batch
        self._pending: list[tuple[Batch, bool, asyncio.Future[Any]]] = []
        self._wake = asyncio.Event()
        self._thread: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = True  # until started

    def start(self) -> None:
        """Start predicting, on the running loop (again after ``close``, as a test's second lifespan does)."""
        self._closing = False
        self._wake = asyncio.Event()
        name = f"predict-{self.model.name}-{self.model.number}"
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"batcher {self.model.name}")

    async def predict(self, batch: Batch, *, proba: bool = False) -> Any:
        """This request's predictions (or probability rows), predicted together with concurrent requests."""
        return (await self.predict_scored(batch, proba=proba))[0]

    async def predict_scored(self, batch: Batch, *, proba: bool = False) -> tuple[Any, Any]:
        """``(predictions, scores)``: scores (see ``ServedModel.predict_scored``) when the batcher was made with
        ``scores=True`` and ``proba`` is false, else None."""
        if self._closing:
            raise RuntimeError("this model is not being served (starting, replaced or stopping); retry")
        future: asyncio.Future[tuple[Any, Any]] = asyncio.get_running_loop().create_future()
        self._pending.append((batch, proba, future))
        self._wake.set()
        return await future

    @property
    def queued(self) -> int:
        return len(self._pending)

    async def close(self) -> None:
        """Finish what is queued, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(0)  # requests read in this same turn of the loop join this batch
            while self._pending:
                taken = self._take()
                for proba in (False, True):
                    group = [item for item in taken if item[1] is proba]
                    if group:
                        await self._predict(loop, group, proba)
            if self._closing and not self._pending:
                return

    def _take(self) -> list[tuple[Batch, bool, asyncio.Future[Any]]]:
        taken: list[tuple[Batch, bool, asyncio.Future[Any]]] = []
        rows = 0
        while self._pending and (not taken or rows + self._pending[0][0].rows <= self.max_batch_rows):
            item = self._pending.pop(0)
            taken.append(item)
            rows += item[0].rows
        return taken

    async def _predict(
        self, loop: asyncio.AbstractEventLoop, group: list[tuple[Batch, bool, asyncio.Future[Any]]], proba: bool
    ) -> None:
        merged = _merge([batch for batch, _p, _f in group])
        if self._on_batch is not None:
            self._on_batch(merged.rows)
        try:
            result = await loop.run_in_executor(self._thread, self._call, merged, proba)
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0][2], error=exc)
                return
            for item in group:  # find the request(s) the model cannot handle
                await self._predict(loop, [item], proba)
            return
        predictions, scores = result
        start = 0
        for batch, _proba, future in group:
            end = start + batch.rows
            _settle(future, result=(predictions[start:end], None if scores is None else scores[start:end]))
            start = end

    def _call(self, batch: Batch, proba: bool) -> tuple[Any, Any]:
        if self.scores and not proba:
            return self.model.predict_scored(batch)
        return self.model.predict(batch, proba=proba), None


def _merge(batches: list[Batch]) -> Batch:
    if len(batches) == 1:
        return batches[0]
    names = list(batches[0].columns)
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for batch in batches:
        for name in names:
            columns[name].extend(batch.columns[name])
    return Batch(columns, sum(b.rows for b in batches))


def _settle(future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    if future.done():  # the client went away and the request was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
