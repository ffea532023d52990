"""A client that stops reading is let go once its buffer is full; the others get everything."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import uuid
from typing import Any

import jwt
import pytest
from websockets.exceptions import ConnectionClosed

from herald.db import run_after_commit
from herald.inbox.events import COUNT, PendingEvent, append_events
from herald.realtime.connection import TOO_SLOW
from herald.runtime import Runtime
from tests.bus.conftest import eventually
from tests.realtime.conftest import Api, Client, Server, seqs, websocket

# Big, incompressible events (WebSocket compression is on) fill the socket buffers quickly.
PAD_BYTES = 45_000
MAX_EVENTS = 600


def _pad() -> str:
    return base64.b64encode(os.urandom(PAD_BYTES)).decode()


async def _append(runtime: Runtime, account_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """One event in its own transaction, announced on the bus after commit (as features do)."""
    event = PendingEvent(user_id, COUNT, None, {"unread": 0, "unseen": 0, "pad": _pad()})
    async with runtime.db.sessions() as session:
        async with session.begin():
            await append_events(session, account_id=account_id, events=[event], bus=runtime.bus)
        await run_after_commit(session)


async def _read_all(client: Client, into: list[dict[str, Any]]) -> None:
    while True:
        into.append(await client.next(within=60))


async def _read_until_closed(client: Client) -> tuple[list[int], ConnectionClosed]:
    got: list[int] = []
    try:
        while True:
            got.append((await client.next(within=30))["seq"])
    except ConnectionClosed as closed:
        return got, closed


def _let_go(server: Server, user_id: uuid.UUID) -> bool:
    """Whether the hub has told one of the user's connections to go: the stalled sender is
    only counted in ``stats.too_slow`` once the client reads again, so sending until then
    would only fill buffers nobody reads."""
    return any(c.closure is TOO_SLOW for c in server.hub._users.get(user_id, ()))


def _stalled_socket(port: int) -> socket.socket:
    """A connected socket with a tiny receive buffer, so that unread data backs up at once."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


@pytest.mark.timeout(120)
async def test_a_slow_client_is_cut_off_and_a_fast_one_gets_every_event(
    api: Api, server: Server
) -> None:
    _, token = await api.user()
    user_id = uuid.UUID(jwt.decode(token, options={"verify_signature": False})["sub"])
    runtime: Runtime = server.app.state.runtime
    cut_before = server.hub.stats.too_slow
    fast_frames: list[dict[str, Any]] = []
    stalled = _stalled_socket(server.port)
    async with (
        # The slow client reads nothing on purpose: its own keep-alive pings would time out
        # (and close it with 1011) before the server's 4008 on a slow machine.
        websocket(server.ws_url(token), sock=stalled, max_queue=1, ping_interval=None) as slow,
        websocket(server.ws_url(token)) as fast,
    ):
        for client in (slow, fast):
            await client.op(op="resume", after=0)
        reader = asyncio.create_task(_read_all(fast, fast_frames))
        sent = 0
        while not _let_go(server, user_id) and sent < MAX_EVENTS:
            await _append(runtime, api.tenant.account_id, user_id)
            sent += 1
        await eventually(lambda: len(fast_frames) >= sent, within=60)
        reader.cancel()
        slow_seqs, closed = await _read_until_closed(slow)
    assert server.hub.stats.too_slow == cut_before + 1
    assert seqs(fast_frames) == list(range(1, sent + 1))
    assert slow_seqs == list(range(1, len(slow_seqs) + 1)) and len(slow_seqs) < sent
    assert closed.rcvd is not None and closed.rcvd.code == 4008
