"""The Redis bus: pub/sub between API processes and workers on many machines.

Redis pub/sub keeps nothing: what is published while a subscriber is disconnected is lost.
So the reader reconnects with back-off forever, subscribes every channel again and then fires
the bus's reconnect signal, for subscribers to recover from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from herald.bus.base import DEFAULT_PREFIX, Bus, backoff, cancel_task
from herald.logs import get_logger

log = get_logger(__name__)

# Builtin TimeoutError is an OSError; RedisError covers redis' ConnectionError and TimeoutError.
_ERRORS = (RedisError, OSError)


class RedisBus(Bus):
    """Redis pub/sub: one subscriber connection read by one task, a small pool for PUBLISH."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        ping_interval: float = 10.0,
        connect_timeout: float = 5.0,
        publish_timeout: float = 2.0,
    ) -> None:
        super().__init__(prefix=prefix, publish_timeout=publish_timeout)
        self._url = url
        self._ping_interval = ping_interval
        self._connect_timeout = connect_timeout
        self._pubsub: PubSub | None = None
        self._confirmations: dict[str, asyncio.Event] = {}
        self._reader: asyncio.Task[None] | None = None
        # redis-py would otherwise retry and reconnect inside a call, resubscribing silently;
        # the subscriber must see every disconnect to fire the reconnect signal.
        self._subscriber = self._client(retries=0)
        # One immediate retry lets the first PUBLISH after a server restart replace the stale
        # pooled connection instead of being dropped.
        self._publisher = self._client(retries=1)

    @property
    def connected(self) -> bool:
        """Whether the subscriber connection is up and subscribed."""
        return super().connected and self._pubsub is not None

    def _client(self, *, retries: int) -> Redis:
        client: Redis = Redis.from_url(
            self._url,
            socket_connect_timeout=self._connect_timeout,
            socket_timeout=self._connect_timeout,
            socket_keepalive=True,
            retry=Retry(NoBackoff(), retries),
        )
        return client

    async def _open(self) -> None:
        try:
            await self._connect(reconnected=False)
        except BaseException:
            await self._shutdown()
            raise
        self._reader = asyncio.create_task(self._read_forever(), name="herald-bus-redis")

    async def _connect(self, *, reconnected: bool) -> None:
        """Open a subscriber connection, subscribe every channel, wait until Redis confirms."""
        self._hold()
        pubsub = self._subscriber.pubsub()
        await pubsub.connect()  # type: ignore[no-untyped-call]
        self._pubsub = pubsub
        # From here a concurrent subscribe() sends its own SUBSCRIBE; before, the snapshot has it.
        channels = list(self._handlers)
        waits = [self._confirmations.setdefault(wire, asyncio.Event()) for wire in channels]
        if channels:
            await pubsub.subscribe(*channels)
        async with asyncio.timeout(self._connect_timeout):
            while not all(event.is_set() for event in waits):
                self._handle(await pubsub.get_message(timeout=self._connect_timeout))
        self._release(reconnected=reconnected)

    async def _read_forever(self) -> None:
        while True:
            try:
                await self._read()
            except _ERRORS as exc:
                log.warning("bus_redis_connection_lost", error=repr(exc))
            await self._disconnect()
            await self._reconnect()

    async def _read(self) -> None:
        """Dispatch messages until the connection fails; PING when idle to notice a dead peer."""
        pubsub = self._pubsub
        assert pubsub is not None
        awaiting_pong = False
        while True:
            message = await pubsub.get_message(timeout=self._ping_interval)
            if message is not None:
                awaiting_pong = False
                self._handle(message)
            elif awaiting_pong:
                raise TimeoutError("Redis did not answer PING")
            else:
                await pubsub.ping()
                awaiting_pong = True

    def _handle(self, message: dict[str, Any] | None) -> None:
        if message is None:
            return
        kind = message["type"]
        if kind == "message":
            self._deliver(message["channel"].decode(), message["data"])
        elif kind == "subscribe":
            event = self._confirmations.pop(message["channel"].decode(), None)
            if event is not None:
                event.set()

    async def _reconnect(self) -> None:
        for attempt in itertools.count():
            await asyncio.sleep(backoff(attempt))
            try:
                await self._connect(reconnected=True)
            except _ERRORS as exc:
                log.info("bus_redis_reconnect_failed", attempt=attempt, error=repr(exc))
                await self._disconnect()
            else:
                log.info("bus_redis_reconnected", attempts=attempt + 1)
                return

    async def _disconnect(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        # Wake subscribe() calls waiting on this connection: the next one subscribes them.
        for event in self._confirmations.values():
            event.set()
        self._confirmations.clear()
        if pubsub is not None:
            with contextlib.suppress(*_ERRORS):
                await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]  # typed from redis 8

    async def _listen(self, wire: str) -> None:
        pubsub = self._pubsub
        if pubsub is None:
            return  # reconnecting: the next connection subscribes every channel
        event = self._confirmations.setdefault(wire, asyncio.Event())
        try:
            await pubsub.subscribe(wire)
            async with asyncio.timeout(self._connect_timeout):
                await event.wait()
        except _ERRORS as exc:
            # The reader sees the same failure, reconnects, subscribes and signals.
            log.warning("bus_redis_subscribe_failed", channel=wire, error=repr(exc))

    async def _send(self, wire: str, data: bytes) -> None:
        await self._publisher.publish(wire, data)

    async def _shutdown(self) -> None:
        if self._reader is not None:
            await cancel_task(self._reader)
            self._reader = None
        await self._disconnect()
        await self._publisher.aclose()
        await self._subscriber.aclose()
