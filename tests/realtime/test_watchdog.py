"""The send bound: a frame that waits too long fails the send, and nothing else does."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from starlette.websockets import WebSocket

from herald.realtime.watchdog import SendWatchdog

BOUND = 0.2


class Peer:
    """The ASGI side of a WebSocket whose sends take ``delay`` seconds each (None: for ever)."""

    def __init__(self, delay: float | None) -> None:
        self.delay = delay
        self.sent: list[str] = []

    async def receive(self) -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send":
            await (asyncio.sleep(self.delay) if self.delay is not None else asyncio.Event().wait())
            self.sent.append(message["text"])


async def _accepted(peer: Peer) -> WebSocket:
    websocket = WebSocket({"type": "websocket"}, peer.receive, peer.send)
    await websocket.accept()
    return websocket


async def test_a_send_that_waits_the_bound_fails_with_a_timeout() -> None:
    websocket = await _accepted(Peer(delay=None))
    watchdog = SendWatchdog(BOUND)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await watchdog.send(websocket.send_text("stuck"))
    assert BOUND <= time.monotonic() - started < BOUND + 0.5
    watchdog.stop()
    # The cancellation it used is spent: the task goes on as if it had never been cancelled.
    current = asyncio.current_task()
    assert current is not None and current.cancelling() == 0
    await asyncio.sleep(0.01)


async def test_slow_sends_each_within_the_bound_never_fail() -> None:
    peer = Peer(delay=BOUND / 4)
    websocket = await _accepted(peer)
    watchdog = SendWatchdog(BOUND)
    for n in range(10):  # 2.5 bounds in all, a quarter each
        await watchdog.send(websocket.send_text(str(n)))
    watchdog.stop()
    assert peer.sent == [str(n) for n in range(10)]


async def test_a_cancellation_from_elsewhere_is_not_taken_for_a_timeout() -> None:
    websocket = await _accepted(Peer(delay=None))

    async def sender() -> None:
        watchdog = SendWatchdog(BOUND)
        try:
            await watchdog.send(websocket.send_text("stuck"))
        finally:
            watchdog.stop()

    task = asyncio.create_task(sender())
    await asyncio.sleep(BOUND / 4)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
