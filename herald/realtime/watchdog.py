"""A bound on each send to a real-time client (WebSocket frame, SSE chunk), without a timer each.

A send waits while the server's write buffer is full, that is while the client reads nothing.
``asyncio.timeout`` around every send would bound it, but arms and cancels a timer per frame:
6.1 µs more a frame under uvloop, where this bookkeeping adds 0.18 µs (``python -m
bench.send_bound``, bench/results/send_bound.md).
Here a connection has at most one timer, armed by a send when none is pending and, when it
fires, re-armed from the start of the send under way; it cancels the sender only when that
send has waited the whole bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable


class SendWatchdog:
    """Guards the current task's sends; one not taken within ``bound`` seconds fails."""

    __slots__ = ("_bound", "_fired", "_loop", "_sending", "_since", "_task", "_timer")

    def __init__(self, bound: float) -> None:
        task = asyncio.current_task()
        assert task is not None, "a watchdog guards the task that sends"
        self._bound = bound
        self._loop = asyncio.get_running_loop()
        self._task = task
        self._timer: asyncio.TimerHandle | None = None
        self._since = 0.0
        self._sending = False
        self._fired = False

    async def send(self, sending: Awaitable[None]) -> None:
        """Await one send; ``TimeoutError`` once it has waited ``bound`` seconds."""
        self._since = self._loop.time()
        if self._timer is None:
            self._timer = self._loop.call_at(self._since + self._bound, self._check)
        self._sending = True
        try:
            await sending
        except asyncio.CancelledError:
            # Ours, unless the task was cancelled for another reason as well.
            if not self._fired or self._task.uncancel() > 0:
                raise
            raise TimeoutError(f"the client took no frame for {self._bound} s") from None
        finally:
            self._sending = False

    def stop(self) -> None:
        """Drop the pending timer (the connection has ended)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        if not self._sending:
            return  # idle: the next send arms it again
        due = self._since + self._bound
        if self._loop.time() < due:
            self._timer = self._loop.call_at(due, self._check)
            return
        # The task is suspended in that send: the cancellation is raised there, and only there.
        self._fired = True
        self._task.cancel()
