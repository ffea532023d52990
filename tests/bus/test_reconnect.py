"""Losing the connection: each backend reconnects forever, subscribes again and says so.

Redis is killed, frozen and restarted (a private redis-server on its own port); PostgreSQL has
the listener's backend terminated (the shared server stays up).
"""

from __future__ import annotations

import asyncio
import signal

import asyncpg  # type: ignore[import-untyped]
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from herald.bus import PostgresBus
from tests.bus.conftest import POSTGRES_DSN, MakeBus, Recorder, RedisServer, eventually, free_port


async def test_redis_restart_reconnects_resubscribes_and_signals_first(
    redis_server: RedisServer, make_bus: MakeBus, recorder: Recorder
) -> None:
    subscriber = make_bus("redis", redis_server.url)
    publisher = make_bus("redis", redis_server.url, publish_timeout=0.5)
    await subscriber.subscribe("inbox", recorder.handler)
    await subscriber.subscribe("deliveries", recorder.handler)
    subscriber.on_reconnect(recorder.reconnected)
    await subscriber.start()
    await publisher.start()
    await publisher.publish("inbox", {"n": 1})
    await eventually(lambda: len(recorder.events) == 1)

    await redis_server.kill()
    await publisher.publish("inbox", {"n": "lost"})
    assert publisher.stats.dropped == 1
    await asyncio.sleep(1)  # a few failed reconnect attempts
    await redis_server.start()

    await eventually(lambda: "reconnect" in recorder.events)
    await publisher.publish("inbox", {"n": 2})
    await publisher.publish("deliveries", {"n": 3})
    await eventually(lambda: len(recorder.events) == 4)
    assert recorder.events == [
        ("inbox", {"n": 1}),
        "reconnect",
        ("inbox", {"n": 2}),
        ("deliveries", {"n": 3}),
    ]
    assert subscriber.stats.reconnects == 1
    assert publisher.stats.published == 3


async def test_a_channel_subscribed_while_redis_is_down_joins_the_new_connection(
    redis_server: RedisServer, make_bus: MakeBus, recorder: Recorder
) -> None:
    subscriber = make_bus("redis", redis_server.url)
    publisher = make_bus("redis", redis_server.url)
    subscriber.on_reconnect(recorder.reconnected)
    await subscriber.start()
    await publisher.start()

    await redis_server.kill()
    await subscriber.subscribe("inbox", recorder.handler)
    await redis_server.start()
    await eventually(lambda: "reconnect" in recorder.events)
    await publisher.publish("inbox", {"n": 1})

    await eventually(lambda: recorder.events == ["reconnect", ("inbox", {"n": 1})])


async def test_redis_that_stops_answering_is_noticed_by_ping(
    redis_server: RedisServer, make_bus: MakeBus, recorder: Recorder
) -> None:
    subscriber = make_bus("redis", redis_server.url, ping_interval=0.2, connect_timeout=0.5)
    await subscriber.subscribe("inbox", recorder.handler)
    subscriber.on_reconnect(recorder.reconnected)
    await subscriber.start()
    assert redis_server.process is not None

    # A frozen server keeps its sockets open: only the unanswered PING reveals it.
    redis_server.process.send_signal(signal.SIGSTOP)
    await asyncio.sleep(1)
    redis_server.process.send_signal(signal.SIGCONT)

    await eventually(lambda: recorder.events == ["reconnect"])


@pytest.mark.postgres
async def test_postgres_listener_terminated_reconnects_and_signals(
    make_bus: MakeBus, recorder: Recorder
) -> None:
    subscriber = make_bus("postgres")
    publisher = make_bus("postgres")
    assert isinstance(subscriber, PostgresBus)
    await subscriber.subscribe("inbox", recorder.handler)
    subscriber.on_reconnect(recorder.reconnected)
    await subscriber.start()
    await publisher.start()
    await publisher.publish("inbox", {"n": 1})
    await eventually(lambda: len(recorder.events) == 1)
    pid = subscriber.listener_pid

    admin = await asyncpg.connect(POSTGRES_DSN)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()

    await eventually(lambda: "reconnect" in recorder.events)
    await publisher.publish("inbox", {"n": 2})
    await eventually(lambda: len(recorder.events) == 3)
    assert recorder.events == [("inbox", {"n": 1}), "reconnect", ("inbox", {"n": 2})]
    assert subscriber.listener_pid not in (None, pid)


async def test_redis_unreachable_at_start_fails_fast(make_bus: MakeBus) -> None:
    bus = make_bus("redis", f"redis://127.0.0.1:{free_port()}/0")

    with pytest.raises(RedisConnectionError):
        await bus.start()
    await bus.publish("inbox", {"n": 1})

    assert bus.stats.dropped == 1


@pytest.mark.postgres
async def test_postgres_unreachable_at_start_fails_fast(make_bus: MakeBus) -> None:
    bus = make_bus("postgres", f"postgresql://postgres@127.0.0.1:{free_port()}/test")

    with pytest.raises(OSError, match=r"Connect call failed|refused"):
        await bus.start()
