"""The contract every bus backend shares: handlers, ordered dispatch, the reconnect signal, drops.

A backend only moves bytes: it implements ``_open``, ``_listen``, ``_send`` and ``_shutdown``
and hands what it receives to ``_deliver``. This class turns those bytes into handler calls on
one task per bus, in arrival order, and keeps publishing from ever raising into a request.
"""

from __future__ import annotations

import asyncio
import random
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from herald.logs import get_logger

log = get_logger(__name__)

Message = dict[str, Any]
Handler = Callable[[str, Message], Awaitable[None]]
ReconnectHandler = Callable[[], Awaitable[None]]

# PostgreSQL's NOTIFY refuses payloads of 8000 bytes or more. Every backend enforces the same
# limit so that a message accepted on the laptop (memory bus) is accepted in production too:
# the bus carries pointers (ids, sequence numbers), the database carries the documents.
MAX_MESSAGE_BYTES = 7999
# PostgreSQL truncates identifiers (LISTEN channels) longer than this.
MAX_CHANNEL_BYTES = 63
DEFAULT_PREFIX = "herald."

# What the dispatcher queue carries: a (wire channel, payload) pair, or None for "reconnected".
_Item = tuple[str, bytes] | None


@dataclass
class BusStats:
    """Counters a test or a health check can read: what was published, dropped, reconnected."""

    published: int = 0
    dropped: int = 0
    reconnects: int = 0


def backoff(attempt: int, *, base: float = 0.1, cap: float = 5.0) -> float:
    """Seconds to wait before reconnect ``attempt`` (0-based): exponential, capped, full jitter."""
    return random.uniform(0, min(cap, base * 2**attempt))


async def cancel_task(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait for it, without swallowing a cancellation aimed at the caller."""
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


class Bus(ABC):
    """Publish/subscribe between processes; messages are small JSON objects.

    Handlers run one at a time, in the order messages arrived, on a task owned by the bus;
    they should be quick (hand work to a queue) and must not mutate the message, which is
    shared by every handler of a channel. A handler that raises is logged and skipped.

    Backends can lose messages while their connection is down. After a lost connection is
    re-established and every channel is subscribed again, each ``on_reconnect`` handler is
    awaited, before any message received on the new connection is dispatched: a subscriber
    then reloads what it may have missed from the database, which is the source of truth.
    """

    def __init__(self, *, prefix: str = DEFAULT_PREFIX, publish_timeout: float = 2.0) -> None:
        self.prefix = prefix
        self.stats = BusStats()
        self._publish_timeout = publish_timeout
        self._handlers: dict[str, list[Handler]] = {}
        self._reconnect_handlers: list[ReconnectHandler] = []
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._held: list[tuple[str, bytes]] | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._running = False

    async def start(self) -> None:
        """Connect and subscribe every channel registered so far; raises if the backend is down."""
        if self._dispatcher is not None:
            raise RuntimeError("bus already started")
        self._dispatcher = asyncio.create_task(self._dispatch_forever(), name="herald-bus")
        try:
            await self._open()
        except BaseException:
            await cancel_task(self._dispatcher)
            self._dispatcher = None
            raise
        self._running = True

    async def close(self) -> None:
        """Disconnect and stop dispatching; messages not yet dispatched are discarded."""
        if self._dispatcher is None:
            return
        self._running = False
        try:
            await self._shutdown()
        finally:
            await cancel_task(self._dispatcher)
            self._dispatcher = None

    async def subscribe(self, channel: str, handler: Handler) -> None:
        """Call ``handler(channel, message)`` for every message published on ``channel``.

        Allowed before or after ``start()``. After it returns on a started, connected bus, the
        subscription is live: a message published from then on reaches the handler. While the
        bus is reconnecting it returns at once; the channel joins the new connection, and the
        reconnect signal follows.
        """
        wire = self._wire(channel)
        handlers = self._handlers.setdefault(wire, [])
        handlers.append(handler)
        if len(handlers) == 1 and self._running:
            await self._listen(wire)

    @property
    def connected(self) -> bool:
        """Whether messages flow now (False while a lost connection is being re-established)."""
        return self._running and self._held is None

    def on_reconnect(self, handler: ReconnectHandler) -> None:
        """Await ``handler()`` each time a lost connection is back (not on the first connect)."""
        self._reconnect_handlers.append(handler)

    async def publish(self, channel: str, message: Message | bytes) -> None:
        """Send ``message`` (a dict, or JSON already encoded) to every subscriber of ``channel``.

        Never raises (except on cancellation): callers publish after their transaction has
        committed, so a failure is logged, counted in ``stats.dropped`` and left to the
        subscribers' recovery from the database.
        """
        try:
            if not self._running:
                raise RuntimeError("bus is not running")
            wire = self._wire(channel)
            data = message if isinstance(message, bytes) else orjson.dumps(message)
            if len(data) > MAX_MESSAGE_BYTES:
                raise ValueError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}")
            async with asyncio.timeout(self._publish_timeout):
                await self._send(wire, data)
        except Exception as exc:
            self.stats.dropped += 1
            log.warning("bus_publish_dropped", channel=channel, error=repr(exc))
            return
        self.stats.published += 1

    def _wire(self, channel: str) -> str:
        """The namespaced name a backend uses, e.g. ``inbox`` -> ``herald.inbox``."""
        wire = self.prefix + channel
        if not channel or len(wire.encode()) > MAX_CHANNEL_BYTES:
            raise ValueError(f"bus channel must be 1 to {MAX_CHANNEL_BYTES} bytes: {wire!r}")
        return wire

    def _deliver(self, wire: str, data: bytes) -> None:
        """Queue a received message for dispatch (held back while a reconnect completes)."""
        if self._held is not None:
            self._held.append((wire, data))
        else:
            self._queue.put_nowait((wire, data))

    def _hold(self) -> None:
        """Start a (re)connection: keep received messages until ``_release``."""
        self._held = []

    def _release(self, *, reconnected: bool) -> None:
        """End a (re)connection: signal a reconnect first, then dispatch what was held."""
        held, self._held = self._held or [], None
        if reconnected:
            self.stats.reconnects += 1
            self._queue.put_nowait(None)
        for item in held:
            self._queue.put_nowait(item)

    async def _dispatch_forever(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                await self._run_reconnect_handlers()
            else:
                await self._dispatch(*item)

    async def _dispatch(self, wire: str, data: bytes) -> None:
        try:
            message = orjson.loads(data)
        except orjson.JSONDecodeError:
            message = None
        if not isinstance(message, dict):
            log.warning("bus_message_not_a_json_object", channel=wire)
            return
        channel = wire.removeprefix(self.prefix)
        for handler in list(self._handlers.get(wire, ())):
            try:
                await handler(channel, message)
            except Exception:
                log.exception("bus_handler_failed", channel=channel)

    async def _run_reconnect_handlers(self) -> None:
        for handler in list(self._reconnect_handlers):
            try:
                await handler()
            except Exception:
                log.exception("bus_reconnect_handler_failed")

    @abstractmethod
    async def _open(self) -> None:
        """Connect and subscribe every channel in ``_handlers``; raise if unreachable."""

    @abstractmethod
    async def _listen(self, wire: str) -> None:
        """Subscribe one more channel on the live connection (the bus is running)."""

    @abstractmethod
    async def _send(self, wire: str, data: bytes) -> None:
        """Publish ``data``; may raise, the caller counts and logs the drop."""

    @abstractmethod
    async def _shutdown(self) -> None:
        """Stop background tasks and close connections."""
