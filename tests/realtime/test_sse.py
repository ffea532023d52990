"""The SSE stream ``/v1/stream`` with a real streaming HTTP client: ids, events, Last-Event-ID."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from tests.realtime.conftest import WAIT, Api, Server, call, unique


class EventStream:
    """Server-Sent Events read off a streaming response, comments (keep-alives) skipped."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self) -> dict[str, Any]:
        """The next event as ``{"id", "event", "data"}``."""
        fields: dict[str, Any] = {}
        async with asyncio.timeout(WAIT):
            async for line in self._lines:
                if not line:
                    if "data" in fields:
                        return fields
                    continue
                name, _, value = line.partition(":")
                if name:  # an empty name is a comment line
                    fields[name] = value.removeprefix(" ")
        raise AssertionError("stream ended")

    async def take(self, count: int) -> list[dict[str, Any]]:
        """The next ``count`` events."""
        return [await self.next() for _ in range(count)]


@contextlib.asynccontextmanager
async def stream(server: Server, token: str, **headers: str) -> AsyncIterator[EventStream]:
    """An open SSE stream for this user token."""
    async with (
        httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http,
        http.stream("GET", "/v1/stream", params={"token": token}, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        yield EventStream(response)


async def test_events_arrive_with_their_seq_as_id(api: Api, server: Server) -> None:
    alice, token = await api.user()
    async with stream(server, token) as events:
        sent = await api.send("incomingCall", [alice], payload=call(unique("c")))
        created, count = await events.take(2)
    assert (created["id"], created["event"]) == ("1", "notification.created")
    frame = orjson.loads(created["data"])
    assert frame["seq"] == 1 and frame["data"]["notification_id"] == sent["id"]
    assert (count["id"], count["event"]) == ("2", "count")


async def test_last_event_id_replays_what_was_missed_exactly_once(api: Api, server: Server) -> None:
    alice, token = await api.user()
    async with stream(server, token) as events:
        await api.send("incomingCall", [alice], payload=call(unique("c")))
        first = await events.take(2)
    await api.send("incomingCall", [alice], payload=call(unique("c")))
    await api.send("missedCall", [alice], payload=call(unique("c")))
    async with stream(server, token, **{"Last-Event-ID": first[-1]["id"]}) as events:
        missed = await events.take(3)
        await api.send("incomingCall", [alice], payload=call(unique("c")))
        live = await events.take(2)
    ids = [int(e["id"]) for e in first + missed + live]
    assert ids == list(range(1, 8))
    assert [e["event"] for e in missed] == ["notification.created", "count", "count"]
