"""Fixtures for the bus: buses on every backend, a private redis-server to kill, and a recorder.

Every test gets its own channel prefix, so tests never hear each other on the shared Redis
and PostgreSQL (nor anyone else's tests).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from herald.bus import Bus, MemoryBus, Message, PostgresBus, RedisBus

REDIS_URL = os.environ.get("HERALD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_DSN = os.environ.get(
    "HERALD_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = [
    "memory",
    "redis",
    pytest.param("postgres", marks=pytest.mark.postgres),
]

MakeBus = Callable[..., Bus]


async def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    """Wait until ``check()`` is true; fail the test after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        await asyncio.sleep(0.01)


@dataclass
class Recorder:
    """Handlers that write down what the bus delivered, reconnects included, in order."""

    events: list[tuple[str, Message] | str] = field(default_factory=list)

    async def handler(self, channel: str, message: Message) -> None:
        """A bus handler."""
        self.events.append((channel, message))

    async def reconnected(self) -> None:
        """A reconnect handler."""
        self.events.append("reconnect")

    @property
    def messages(self) -> list[tuple[str, Message]]:
        """The messages received, without the reconnects."""
        return [event for event in self.events if isinstance(event, tuple)]


@pytest.fixture
def recorder() -> Recorder:
    """A fresh recorder."""
    return Recorder()


@pytest.fixture
def prefix() -> str:
    """A channel namespace of this test's own."""
    return f"t{uuid.uuid4().hex[:12]}."


@pytest.fixture
async def make_bus(prefix: str) -> AsyncIterator[Callable[..., Bus]]:
    """``make_bus(backend, **options)`` -> an unstarted bus, closed after the test."""
    buses: list[Bus] = []

    def make(backend: str, url: str | None = None, **options: Any) -> Bus:
        bus: Bus
        if backend == "memory":
            bus = MemoryBus(prefix=prefix, **options)
        elif backend == "redis":
            bus = RedisBus(url or REDIS_URL, prefix=prefix, **options)
        else:
            bus = PostgresBus(url or POSTGRES_DSN, prefix=prefix, **options)
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        await bus.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each bus backend in turn."""
    name: str = request.param
    return name


@dataclass
class Pair:
    """Two buses as two processes hold them; on the memory backend both are the same bus."""

    publisher: Bus
    subscriber: Bus

    async def start(self) -> None:
        """Start both (once each)."""
        await self.subscriber.start()
        if self.publisher is not self.subscriber:
            await self.publisher.start()


@pytest.fixture
def pair(backend: str, make_bus: MakeBus) -> Pair:
    """An unstarted publisher and subscriber on ``backend``."""
    subscriber = make_bus(backend)
    publisher = subscriber if backend == "memory" else make_bus(backend)
    return Pair(publisher=publisher, subscriber=subscriber)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """A private redis-server this test may kill and restart (never the shared one)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start on ``self.port`` and wait until it accepts connections."""
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        self.process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        await eventually(self._accepts)

    def _accepts(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
        except OSError:
            return False
        return True

    async def kill(self) -> None:
        """SIGKILL: no goodbye to clients, like a crash."""
        if self.process is not None:
            self.process.kill()
            await self.process.wait()
            self.process = None


@pytest.fixture
async def redis_server() -> AsyncIterator[RedisServer]:
    """A private, running redis-server, killed after the test."""
    server = RedisServer()
    await server.start()
    yield server
    await server.kill()
