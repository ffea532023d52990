"""One client connection as the hub sees it: who, where it is in the user's stream, what waits.

The hub fills a connection's bounded buffer from the database; the connection's own sender task
drains it to the socket. The hub never waits for a socket, so a slow client only fills its own
buffer and, once that is full, is told to go (it can resume) instead of slowing anyone else.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from herald.realtime.frames import Event

MAX_REPLIES = 32


@dataclass(frozen=True)
class Closure:
    """Why the server ends a connection: a WebSocket close code and reason."""

    code: int
    reason: str


TOO_SLOW = Closure(4008, "too slow: reconnect and resume from your last seq")
GOING_AWAY = Closure(1001, "server shutting down")
# The client ended the connection: its sender stops, and there is no close frame to send.
LEFT = Closure(1000, "client left")


class Connection:
    """A WebSocket or SSE client of one user, and its place in that user's event stream.

    ``position`` is the last sequence number this connection has been given (sent, or skipped
    by its product filter); ``None`` until the client's starting point is known. Events reach
    the buffer only in order and only once: those at or below ``position`` are dropped.
    """

    def __init__(
        self,
        *,
        account_id: uuid.UUID,
        user_id: uuid.UUID,
        product: str | None,
        transport: str,
        limit: int,
        stall: float,
        wake: Callable[[Connection], None],
    ) -> None:
        self.account_id = account_id
        self.user_id = user_id
        self.product = product
        self.transport = transport
        self.position: int | None = None
        self.closure: Closure | None = None
        self._limit = limit
        self._wake = wake
        self._behind = False
        self._stall = stall
        self._taken_at = time.monotonic()
        self._events: deque[Event] = deque()
        self._replies: deque[bytes] = deque()
        self._ready = asyncio.Event()

    def offer(self, events: Sequence[Event], *, after: int) -> None:
        """Queue the events after ``position``, read from the database after seq ``after``.

        A read that started past this connection's position (a resume rewound it meanwhile) is
        not used: the connection asks for a new read. New events that do not fit beside events
        still waiting mean the client cannot keep up: it is let go (it can resume). A backlog
        bigger than the buffer (a resume after a long absence) is taken a buffer at a time: the
        connection asks for the rest once its sender has taken what waits; if the sender takes
        nothing for ``stall`` seconds meanwhile, the client is let go too.
        """
        if self.position is None or self.closure is not None:
            return
        if self._behind:
            # Catching up: it asks for more once it has sent what waits, unless it has stalled.
            if time.monotonic() - self._taken_at > self._stall:
                self.close(TOO_SLOW)
            return
        if self.position < after:
            self._wake(self)
            return
        fresh = [e for e in events if e.seq > self.position]
        wanted = sum(1 for e in fresh if e.reaches(self.product))
        room = self._limit - len(self._events)
        if wanted > room and self._events:
            self.close(TOO_SLOW)
            return
        for event in fresh:
            if event.reaches(self.product):
                if room == 0:
                    self._behind = True
                    break
                self._events.append(event)
                room -= 1
            self.position = event.seq
        if self._events:
            self._ready.set()

    def reply(self, frame: bytes) -> None:
        """Queue an answer to a client op (pong, error), sent before the next events."""
        if len(self._replies) >= MAX_REPLIES:
            self.close(TOO_SLOW)
            return
        self._replies.append(frame)
        self._ready.set()

    def close(self, closure: Closure) -> None:
        """Ask the sender to end the connection (the first reason wins)."""
        if self.closure is None:
            self.closure = closure
        self._ready.set()

    async def take(self, idle: float) -> tuple[list[bytes], list[Event]]:
        """Wait up to ``idle`` seconds for replies or events and take them all.

        Two empty lists mean the connection was idle (time for a keep-alive) or is closing.
        """
        self._taken_at = time.monotonic()  # a sender back here is keeping up
        if not self._ready.is_set():
            try:
                async with asyncio.timeout(idle):
                    await self._ready.wait()
            except TimeoutError:
                return [], []
        self._ready.clear()
        if self.closure is not None:
            return [], []
        self._taken_at = time.monotonic()
        replies, events = list(self._replies), list(self._events)
        self._replies.clear()
        self._events.clear()
        if self._behind:
            self._behind = False
            self._wake(self)
        return replies, events
