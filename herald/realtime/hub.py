"""The hub of one API process: its users' connections, and one task that feeds them from the DB.

Bus messages on ``inbox`` only say "these users have events up to seq n". The hub marks the
users it holds connections for, and its feeder task reads, in one query per batch of users,
every event after each user's lowest connection position, then hands each connection its part.
Bursts of bus messages coalesce into one read; a resume or a bus reconnect is the same read.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

from herald.bus import Bus, Message
from herald.bus.base import cancel_task
from herald.db import Database
from herald.errors import DatabaseUnavailable
from herald.logs import get_logger
from herald.metrics import REALTIME_CONNECTIONS
from herald.realtime import recovery
from herald.realtime.connection import GOING_AWAY, TOO_SLOW, Connection
from herald.runtime import Runtime

log = get_logger(__name__)
CHANNEL = "inbox"


@dataclass
class HubStats:
    """Counters a test or an operator can read."""

    reads: int = 0
    events: int = 0
    too_slow: int = 0


@dataclass(frozen=True)
class HubOptions:
    """Tuning: buffer per connection, seconds a catching-up sender may stall, rows per read."""

    queue: int = 256
    stall: float = 20.0
    batch: int = 2000
    retry_seconds: float = 1.0


def _chunks(users: dict[uuid.UUID, int], size: int) -> Iterator[dict[uuid.UUID, int]]:
    items = iter(users.items())
    while chunk := dict(islice(items, size)):
        yield chunk


class Hub:
    """Every real-time connection of this process, by user, fed from the database."""

    def __init__(self, db: Database, options: HubOptions | None = None) -> None:
        self.db = db
        self.options = options or HubOptions()
        self.stats = HubStats()
        self._users: dict[uuid.UUID, set[Connection]] = {}
        # user -> the last seq a bus message announced, or None: "read whatever is there".
        self._dirty: dict[uuid.UUID, int | None] = {}
        self._wake = asyncio.Event()
        self._feeder: asyncio.Task[None] | None = None

    async def attach(self, bus: Bus) -> None:
        """Subscribe to the bus (before it starts) and start feeding connections."""
        await bus.subscribe(CHANNEL, self._on_inbox)
        bus.on_reconnect(self._on_reconnect)
        self._feeder = asyncio.create_task(self._feed_forever(), name="herald-realtime-hub")

    async def close(self) -> None:
        """Stop feeding and ask every connection to close with 1001."""
        if self._feeder is not None:
            await cancel_task(self._feeder)
            self._feeder = None
        for connections in self._users.values():
            for connection in connections:
                connection.close(GOING_AWAY)

    def connect(
        self, *, account_id: uuid.UUID, user_id: uuid.UUID, product: str | None, transport: str
    ) -> Connection:
        """Register a connection; it receives nothing until ``start_at`` gives it a position."""
        connection = Connection(
            account_id=account_id,
            user_id=user_id,
            product=product,
            transport=transport,
            limit=self.options.queue,
            stall=self.options.stall,
            wake=self._resync,
        )
        self._users.setdefault(user_id, set()).add(connection)
        REALTIME_CONNECTIONS.labels(transport).inc()
        return connection

    def disconnect(self, connection: Connection) -> None:
        """Forget a connection that has ended."""
        connections = self._users.get(connection.user_id)
        if connections is None or connection not in connections:
            return
        connections.discard(connection)
        if not connections:
            del self._users[connection.user_id]
        REALTIME_CONNECTIONS.labels(connection.transport).dec()
        if connection.closure is TOO_SLOW:
            self.stats.too_slow += 1

    def start_at(self, connection: Connection, after: int) -> None:
        """(Re)position a connection after seq ``after`` and send it what follows, from the DB."""
        connection.position = after
        self._resync(connection)

    def count(self) -> int:
        """How many connections this process holds."""
        return sum(len(c) for c in self._users.values())

    def _resync(self, connection: Connection) -> None:
        self._mark(connection.user_id, None)

    def _mark(self, user_id: uuid.UUID, seq: int | None) -> None:
        if user_id in self._dirty:
            known = self._dirty[user_id]
            seq = None if known is None or seq is None else max(known, seq)
        self._dirty[user_id] = seq
        self._wake.set()

    async def _on_inbox(self, _channel: str, message: Message) -> None:
        for user, seq in message.get("users", ()):
            user_id = uuid.UUID(user)
            if user_id in self._users:
                self._mark(user_id, int(seq))

    async def _on_reconnect(self) -> None:
        # Messages published while the bus was down are lost: every connection reads again.
        for user_id in self._users:
            self._mark(user_id, None)

    async def _feed_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            dirty, self._dirty = self._dirty, {}
            try:
                await self._feed(self._positions(dirty))
            except Exception as exc:
                if isinstance(exc, DatabaseUnavailable):
                    log.warning("realtime_read_failed", error=exc.message)
                else:
                    log.exception("realtime_read_failed")
                for user_id in dirty:
                    self._mark(user_id, None)
                await asyncio.sleep(self.options.retry_seconds)

    def _positions(self, dirty: dict[uuid.UUID, int | None]) -> dict[uuid.UUID, int]:
        """Where each marked user's read starts: the lowest position of its connections."""
        starts: dict[uuid.UUID, int] = {}
        for user_id, announced in dirty.items():
            positions = [c.position for c in self._users.get(user_id, ()) if c.position is not None]
            if not positions:
                continue
            low = min(positions)
            if announced is None or low < announced:
                starts[user_id] = low
        return starts

    async def _feed(self, starts: dict[uuid.UUID, int]) -> None:
        for chunk in _chunks(starts, recovery.USERS_PER_QUERY):
            async with self.db.sessions() as session:
                found = await recovery.events_after(session, chunk, limit=self.options.batch)
            self.stats.reads += 1
            self.stats.events += sum(len(e) for e in found.values())
            for user_id, after in chunk.items():
                for connection in list(self._users.get(user_id, ())):
                    connection.offer(found.get(user_id, []), after=after)
            if sum(len(e) for e in found.values()) >= self.options.batch:
                for user_id in chunk:  # the read was cut short: read on from where it stopped
                    self._mark(user_id, None)


async def start_hub(runtime: Runtime) -> Hub:
    """This process's hub, subscribed to a bus that has not started yet."""
    settings = runtime.settings
    options = HubOptions(queue=settings.realtime_queue, stall=settings.realtime_keepalive)
    hub = Hub(runtime.db, options)
    await hub.attach(runtime.bus)
    return hub
