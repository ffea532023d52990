"""The PostgreSQL bus: LISTEN/NOTIFY, for deployments that have PostgreSQL but no Redis.

One dedicated connection LISTENs; a small pool sends NOTIFY. Like Redis pub/sub, a listener
misses what is notified while it is disconnected, so it reconnects with back-off forever,
LISTENs again and fires the bus's reconnect signal. NOTIFY payloads must stay under 8000
bytes, which the base class enforces for every backend.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from herald.bus.base import DEFAULT_PREFIX, Bus, backoff, cancel_task
from herald.logs import get_logger

log = get_logger(__name__)

# Builtin TimeoutError is an OSError (connection refused, timeouts).
_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


def asyncpg_dsn(database_url: str) -> str:
    """Turn a SQLAlchemy URL (``postgresql+asyncpg://...``) into a libpq DSN asyncpg accepts."""
    scheme, sep, rest = database_url.partition("://")
    if not sep or not scheme.startswith("postgresql"):
        raise ValueError("not a PostgreSQL URL")
    return f"postgresql://{rest}"


class PostgresBus(Bus):
    """LISTEN/NOTIFY on the application database."""

    def __init__(
        self,
        dsn: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        ping_interval: float = 10.0,
        connect_timeout: float = 5.0,
        publish_timeout: float = 2.0,
    ) -> None:
        super().__init__(prefix=prefix, publish_timeout=publish_timeout)
        self._dsn = dsn
        self._ping_interval = ping_interval
        self._connect_timeout = connect_timeout
        self._pool: Any = None
        self._listener: Any = None
        self._lost = asyncio.Event()
        # asyncpg runs one query at a time per connection: LISTENs and pings take turns.
        self._lock = asyncio.Lock()
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def listener_pid(self) -> int | None:
        """The server process id of the LISTEN connection (tests terminate it)."""
        listener = self._listener
        return None if listener is None or listener.is_closed() else int(listener.get_server_pid())

    @property
    def connected(self) -> bool:
        """Whether the LISTEN connection is up."""
        return super().connected and self.listener_pid is not None

    async def _open(self) -> None:
        self._pool = await asyncpg.create_pool(
            self._dsn, min_size=0, max_size=2, timeout=self._connect_timeout
        )
        try:
            await self._connect(reconnected=False)
        except BaseException:
            await self._shutdown()
            raise
        self._supervisor = asyncio.create_task(self._supervise(), name="herald-bus-postgres")

    async def _connect(self, *, reconnected: bool) -> None:
        """Open the listener connection and LISTEN on every channel."""
        self._hold()
        listener = await asyncpg.connect(self._dsn, timeout=self._connect_timeout)
        lost = asyncio.Event()
        listener.add_termination_listener(lambda _connection: lost.set())
        self._listener, self._lost = listener, lost
        async with self._lock:
            for wire in list(self._handlers):
                await listener.add_listener(wire, self._on_notify)
        self._release(reconnected=reconnected)

    def _on_notify(self, _connection: Any, _pid: int, channel: str, payload: str) -> None:
        self._deliver(channel, payload.encode())

    async def _supervise(self) -> None:
        while True:
            await self._watch()
            log.warning("bus_postgres_connection_lost")
            self._drop_listener()
            await self._reconnect()

    async def _watch(self) -> None:
        """Return when the listener connection is lost, or stops answering a periodic ping."""
        while True:
            try:
                async with asyncio.timeout(self._ping_interval):
                    await self._lost.wait()
                return
            except TimeoutError:
                pass
            try:
                async with self._lock:
                    await self._listener.execute("SELECT 1", timeout=self._connect_timeout)
            except _ERRORS:
                return

    async def _reconnect(self) -> None:
        for attempt in itertools.count():
            await asyncio.sleep(backoff(attempt))
            try:
                await self._connect(reconnected=True)
            except _ERRORS as exc:
                log.info("bus_postgres_reconnect_failed", attempt=attempt, error=repr(exc))
                self._drop_listener()
            else:
                log.info("bus_postgres_reconnected", attempts=attempt + 1)
                return

    def _drop_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.terminate()

    async def _listen(self, wire: str) -> None:
        async with self._lock:
            listener = self._listener
            if listener is None or listener.is_closed():
                return  # reconnecting: the next connection LISTENs on every channel
            try:
                await listener.add_listener(wire, self._on_notify)
            except _ERRORS as exc:
                # The supervisor sees the same failure, reconnects, LISTENs and signals.
                log.warning("bus_postgres_listen_failed", channel=wire, error=repr(exc))

    async def _send(self, wire: str, data: bytes) -> None:
        await self._pool.execute("SELECT pg_notify($1, $2)", wire, data.decode())

    async def _shutdown(self) -> None:
        if self._supervisor is not None:
            await cancel_task(self._supervisor)
            self._supervisor = None
        self._drop_listener()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
