"""The bus contract, on every backend: delivery between processes, order, channels, drops, close."""

from __future__ import annotations

import asyncio

import asyncpg  # type: ignore[import-untyped]
import pytest
from redis.asyncio import Redis

from herald.bus import MAX_MESSAGE_BYTES, Message
from tests.bus.conftest import POSTGRES_DSN, REDIS_URL, MakeBus, Pair, Recorder, eventually


async def test_a_message_reaches_the_other_process(pair: Pair, recorder: Recorder) -> None:
    await pair.subscriber.subscribe("inbox", recorder.handler)
    await pair.start()

    await pair.publisher.publish("inbox", {"user": "u1", "seq": 1})

    await eventually(lambda: len(recorder.events) == 1)
    assert recorder.events == [("inbox", {"user": "u1", "seq": 1})]
    assert pair.publisher.stats.published == 1
    assert pair.publisher.stats.dropped == 0


async def test_messages_from_one_publisher_arrive_in_order(pair: Pair, recorder: Recorder) -> None:
    await pair.subscriber.subscribe("inbox", recorder.handler)
    await pair.start()

    for seq in range(300):
        await pair.publisher.publish("inbox", {"seq": seq})

    await eventually(lambda: len(recorder.events) == 300)
    assert [message["seq"] for _, message in recorder.messages] == list(range(300))


async def test_each_channel_reaches_its_own_handlers(pair: Pair, recorder: Recorder) -> None:
    deliveries = Recorder()
    also_inbox = Recorder()
    await pair.subscriber.subscribe("inbox", recorder.handler)
    await pair.subscriber.subscribe("inbox", also_inbox.handler)
    await pair.subscriber.subscribe("deliveries", deliveries.handler)
    await pair.start()

    await pair.publisher.publish("nobody-listens", {"n": 0})
    await pair.publisher.publish("deliveries", {"n": 1})
    await pair.publisher.publish("inbox", {"n": 2})

    await eventually(lambda: len(recorder.events) == 1 and len(deliveries.events) == 1)
    assert recorder.events == also_inbox.events == [("inbox", {"n": 2})]
    assert deliveries.events == [("deliveries", {"n": 1})]


async def test_subscribing_after_start_is_live_when_it_returns(
    pair: Pair, recorder: Recorder
) -> None:
    await pair.start()
    await pair.subscriber.subscribe("inbox", recorder.handler)

    await pair.publisher.publish("inbox", {"n": 1})

    await eventually(lambda: len(recorder.events) == 1)


async def test_encoded_json_is_published_as_is(pair: Pair, recorder: Recorder) -> None:
    await pair.subscriber.subscribe("inbox", recorder.handler)
    await pair.start()

    await pair.publisher.publish("inbox", b'{"already":"encoded"}')

    await eventually(lambda: recorder.events == [("inbox", {"already": "encoded"})])


async def test_a_failing_handler_does_not_stop_the_others(pair: Pair, recorder: Recorder) -> None:
    async def broken(channel: str, message: Message) -> None:
        raise RuntimeError("handler bug")

    await pair.subscriber.subscribe("inbox", broken)
    await pair.subscriber.subscribe("inbox", recorder.handler)
    await pair.start()

    await pair.publisher.publish("inbox", {"n": 1})
    await pair.publisher.publish("inbox", {"n": 2})

    await eventually(lambda: len(recorder.events) == 2)


async def test_what_cannot_be_sent_is_dropped_and_counted_not_raised(
    pair: Pair, recorder: Recorder
) -> None:
    await pair.subscriber.subscribe("inbox", recorder.handler)
    await pair.start()
    too_big = {"text": "x" * MAX_MESSAGE_BYTES}

    await pair.publisher.publish("inbox", too_big)
    await pair.publisher.publish("inbox", {"not json": object()})
    await pair.publisher.publish("x" * 64, {"channel": "too long"})
    await pair.publisher.publish("inbox", {"n": "last"})

    await eventually(lambda: len(recorder.events) == 1)
    assert recorder.events == [("inbox", {"n": "last"})]
    assert pair.publisher.stats.dropped == 3
    assert pair.publisher.stats.published == 1


async def test_the_largest_message_postgres_accepts_goes_everywhere(
    pair: Pair, recorder: Recorder
) -> None:
    await pair.subscriber.subscribe("inbox", recorder.handler)
    await pair.start()
    largest = {"t": "x" * (MAX_MESSAGE_BYTES - len(b'{"t":""}'))}

    await pair.publisher.publish("inbox", largest)

    await eventually(lambda: len(recorder.events) == 1)
    assert recorder.events == [("inbox", largest)]


async def test_publishing_on_a_bus_not_running_is_dropped(backend: str, make_bus: MakeBus) -> None:
    bus = make_bus(backend)

    await bus.publish("inbox", {"n": 1})
    await bus.start()
    await bus.close()
    await bus.publish("inbox", {"n": 2})

    assert bus.stats.dropped == 2


async def test_close_leaves_no_task_behind_and_can_be_repeated(
    pair: Pair, recorder: Recorder
) -> None:
    before = asyncio.all_tasks()
    await pair.subscriber.subscribe("inbox", recorder.handler)
    await pair.start()
    await pair.publisher.publish("inbox", {"n": 1})
    await eventually(lambda: len(recorder.events) == 1)

    await pair.subscriber.close()
    await pair.publisher.close()
    await pair.subscriber.close()

    assert asyncio.all_tasks() == before


async def test_a_bus_starts_once(backend: str, make_bus: MakeBus) -> None:
    bus = make_bus(backend)
    await bus.start()

    with pytest.raises(RuntimeError, match="already started"):
        await bus.start()


async def test_on_redis_the_channel_is_namespaced_and_the_payload_is_json(
    make_bus: MakeBus, prefix: str
) -> None:
    bus = make_bus("redis")
    await bus.start()
    raw = Redis.from_url(REDIS_URL)
    pubsub = raw.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(f"{prefix}inbox")
        await bus.publish("inbox", {"n": 1})
        message = await pubsub.get_message(timeout=5)
        while message is None:
            message = await pubsub.get_message(timeout=5)
        assert message["data"] == b'{"n":1}'
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await raw.aclose()


@pytest.mark.postgres
async def test_on_postgres_the_channel_is_namespaced_and_the_payload_is_json(
    make_bus: MakeBus, prefix: str
) -> None:
    bus = make_bus("postgres")
    await bus.start()
    received: asyncio.Queue[str] = asyncio.Queue()
    raw = await asyncpg.connect(POSTGRES_DSN)
    try:
        await raw.add_listener(f"{prefix}inbox", lambda *args: received.put_nowait(args[3]))
        await bus.publish("inbox", {"n": 1})
        assert await asyncio.wait_for(received.get(), 5) == '{"n":1}'
    finally:
        await raw.close()
