"""Write attempts' answers in batches: one transaction for the answers that land together.

A worker finishes many sends at nearly the same time; one transaction each would make
the database's single writer (SQLite) or its commit rate (PostgreSQL) the bottleneck.
``record()`` returns only once its answer is committed, so a job is never reported done
before it is durable; a batch that fails to commit fails every job in it, whose leases
then run out and whose deliveries are retried.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from herald.bus.base import cancel_task
from herald.delivery.answer import Answer
from herald.delivery.gate import Gate
from herald.delivery.queue import Claimed

Write = Callable[[AsyncSession, list[tuple[Claimed, Answer]]], Awaitable[None]]
"""Writes a batch of answers in the given transaction."""
_Pending = tuple[Claimed, Answer, "asyncio.Future[None]"]


class Recorder:
    """Collects answers and writes them with ``write``, up to ``batch`` per transaction;
    a transaction waits ``linger`` seconds for more answers unless ``batch`` are pending."""

    def __init__(self, gate: Gate, write: Write, *, batch: int = 200, linger: float = 0.02) -> None:
        self._gate = gate
        self._write = write
        self._batch = batch
        self._linger = linger
        self._pending: list[_Pending] = []
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def record(self, job: Claimed, answer: Answer) -> None:
        """Write ``answer`` for ``job``; returns once it is committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((job, answer, done))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush_forever(), name="herald-recorder")
        self._ready.set()
        await done

    async def aclose(self) -> None:
        """Stop the writer task (callers have awaited their ``record`` already)."""
        if self._task is not None:
            await cancel_task(self._task)
            self._task = None

    async def _flush_forever(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            if 0 < len(self._pending) < self._batch:
                # Let answers that land within a few milliseconds share one transaction: each
                # costs a BEGIN, a locking SELECT, the callback endpoints' read and a COMMIT
                # however few answers it holds (a worker's sends end a few at a time).
                await asyncio.sleep(self._linger)
            while self._pending:
                batch, self._pending = self._pending[: self._batch], self._pending[self._batch :]
                await self._flush(batch)

    async def _flush(self, batch: list[_Pending]) -> None:
        try:
            async with self._gate.transaction() as session:
                await self._write(session, [(job, answer) for job, answer, _ in batch])
        except Exception as exc:  # every waiter learns its answer was not recorded
            for _, _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for _, _, done in batch:
            if not done.done():
                done.set_result(None)
