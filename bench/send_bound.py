"""What bounding each WebSocket send costs: a timer per frame against ``SendWatchdog``.

Sends go through Starlette's ``WebSocket`` to an ASGI ``send`` that returns at once, so what is
measured is the bound's own cost per frame (the real send to a socket comes on top, the same for
each). Median of 7 rounds of 200,000 frames, on uvloop (what ``herald api`` runs) and asyncio.

    python -m bench.send_bound
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop
from starlette.websockets import WebSocket

from herald.realtime.watchdog import SendWatchdog

FRAMES = 200_000
ROUNDS = 7
BOUND = 10.0


async def _receive() -> dict[str, Any]:
    return {"type": "websocket.connect"}


async def _send(_message: Any) -> None:
    return None


async def unbounded(websocket: WebSocket) -> None:
    for _ in range(FRAMES):
        await websocket.send_text("{}")


async def timer_per_frame(websocket: WebSocket) -> None:
    for _ in range(FRAMES):
        async with asyncio.timeout(BOUND):
            await websocket.send_text("{}")


async def watchdog(websocket: WebSocket) -> None:
    guard = SendWatchdog(BOUND)
    for _ in range(FRAMES):
        await guard.send(websocket.send_text("{}"))
    guard.stop()


async def measure() -> dict[str, float]:
    """Microseconds per frame, the median of the rounds, for each way of sending."""
    websocket = WebSocket({"type": "websocket"}, _receive, _send)
    await websocket.accept()
    ways: dict[str, Callable[[WebSocket], Awaitable[None]]] = {
        "unbounded": unbounded,
        "asyncio.timeout per frame": timer_per_frame,
        "SendWatchdog": watchdog,
    }
    rounds: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(ROUNDS):
        for name, way in ways.items():
            started = time.perf_counter()
            await way(websocket)
            rounds[name].append((time.perf_counter() - started) / FRAMES * 1e6)
    return {name: statistics.median(values) for name, values in rounds.items()}


def main() -> None:
    """Print a table: per loop, each way's cost per frame and its ratio to no bound."""
    print("| loop | way | µs per frame | added µs | ratio to unbounded |")
    print("|---|---|---|---|---|")
    for loop, run in (("uvloop", uvloop.run), ("asyncio", asyncio.run)):
        results = run(measure())
        base = results["unbounded"]
        for name, micros in results.items():
            print(f"| {loop} | {name} | {micros:.2f} | {micros - base:.2f} | {micros / base:.2f} |")


if __name__ == "__main__":
    main()
