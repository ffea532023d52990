"""A client that stops reading is let go once its buffer is full; the others get everything."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import orjson
import pytest
import uvicorn
from prometheus_client import REGISTRY
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from herald.app import create_app
from herald.cli.serve import HttpProtocol, WebSocketProtocol
from herald.db import run_after_commit
from herald.inbox.events import COUNT, PendingEvent, append_events
from herald.realtime.connection import TOO_SLOW
from herald.runtime import Runtime
from tests.bus.conftest import eventually, free_port
from tests.conftest import Tenant, settings_for
from tests.realtime.conftest import QUEUE, Api, Client, Server, seqs, serve, websocket
from tests.realtime.test_sse import stream as sse_stream

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
    only counted in ``stats.too_slow`` once its send times out or the client reads again, so
    sending until then would only fill buffers nobody reads."""
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


# The strict server's bound on one frame: a client that takes nothing for this long is dropped.
SEND_TIMEOUT = 1.5
# Scheduling slack on a busy machine, on top of the bound.
SLACK = 1.5


@pytest.fixture(scope="module")
async def strict(database_url: str) -> AsyncIterator[tuple[Server, uvicorn.Server]]:
    """A second Herald on the same database whose sends time out after ``SEND_TIMEOUT``."""
    settings = settings_for(
        database_url,
        realtime_queue=QUEUE,
        realtime_resume_grace=0.3,
        realtime_keepalive=2,
        realtime_send_timeout=SEND_TIMEOUT,
    )
    app = create_app(settings)
    port = free_port()
    async for running in serve(app, port):
        yield Server(app, port), running


class RawClient:
    """A WebSocket client on a bare socket that reads only when asked to, then not at all.

    websockets' sans-I/O protocol makes the handshake and frames; nothing reads the socket
    in the background, so once the client stops, the server's buffers fill and stay full.
    """

    def __init__(self, url: str) -> None:
        self.protocol = ClientProtocol(parse_uri(url))
        self.sock = socket.socket()
        # A tiny receive window: unread frames back up into the server at once.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.setblocking(False)
        self.seqs: list[int] = []

    async def open(self, port: int) -> None:
        """Connect and complete the handshake."""
        loop = asyncio.get_running_loop()
        await loop.sock_connect(self.sock, ("127.0.0.1", port))
        self.protocol.send_request(self.protocol.connect())
        await self._flush()
        while not any(isinstance(e, Response) for e in await self._receive()):
            pass
        assert self.protocol.handshake_exc is None

    async def op(self, **frame: Any) -> None:
        """Send a client op."""
        self.protocol.send_text(orjson.dumps(frame))
        await self._flush()

    async def read_until(self, seq: int) -> None:
        """Read frames until one of seq ``seq`` or later has arrived."""
        async with asyncio.timeout(10):
            while not self.seqs or self.seqs[-1] < seq:
                for event in await self._receive():
                    if not isinstance(event, Response) and event.opcode is Opcode.TEXT:
                        frame = orjson.loads(event.data)
                        if "seq" in frame:
                            self.seqs.append(frame["seq"])

    async def _receive(self) -> list[Any]:
        data = await asyncio.get_running_loop().sock_recv(self.sock, 65536)
        assert data, "the server closed the connection"
        self.protocol.receive_data(data)
        return list(self.protocol.events_received())

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.sock_sendall(self.sock, b"".join(self.protocol.data_to_send()))


def _websockets(server: uvicorn.Server) -> int:
    """WebSocket connections the uvicorn server still holds (a socket and its buffers each)."""
    return sum(isinstance(c, WebSocketProtocol) for c in server.server_state.connections)


def _gauge(transport: str = "websocket") -> float | None:
    return REGISTRY.get_sample_value("herald_realtime_connections", {"transport": transport})


async def _user(server: Server, tenant: Tenant) -> tuple[str, uuid.UUID]:
    """A new user's token and id."""
    async with httpx.AsyncClient(base_url=server.http, headers=tenant.headers) as http:
        _, token = await Api(server, tenant, http).user()
    return token, uuid.UUID(jwt.decode(token, options={"verify_signature": False})["sub"])


@pytest.mark.timeout(60)
async def test_a_client_that_stops_reading_is_dropped_within_the_send_timeout(
    strict: tuple[Server, uvicorn.Server], tenant: Tenant
) -> None:
    server, running = strict
    token, user_id = await _user(server, tenant)
    runtime: Runtime = server.app.state.runtime
    cut_before = server.hub.stats.too_slow
    stalled = RawClient(server.ws_url(token))
    fast_frames: list[dict[str, Any]] = []
    with stalled.sock:
        async with websocket(server.ws_url(token)) as fast:
            await stalled.open(server.port)
            await stalled.op(op="resume", after=0)
            await fast.op(op="resume", after=0)
            reader = asyncio.create_task(_read_all(fast, fast_frames))
            await eventually(lambda: server.hub.count() == 2)
            open_before, gauge_before = _websockets(running), _gauge()
            last_seq, sent = await _stall(server, runtime, tenant.account_id, user_id, stalled)

            # Out of the hub within the bound: the send under way when it was let go times out.
            await eventually(lambda: server.hub.count() == 1, within=SEND_TIMEOUT + SLACK)
            assert server.hub.stats.too_slow == cut_before + 1
            assert gauge_before is not None and _gauge() == gauge_before - 1
            # Its close frame cannot be written either: the socket is cut, its buffers freed.
            await eventually(
                lambda: _websockets(running) == open_before - 1, within=SEND_TIMEOUT + SLACK
            )
            # The reading client got, and keeps getting, every event.
            for _ in range(2):
                await _append(runtime, tenant.account_id, user_id)
            sent += 2
            await eventually(lambda: len(fast_frames) >= sent)
            reader.cancel()
    assert seqs(fast_frames) == list(range(1, sent + 1))

    # Back, it resumes from its last seq: every event after it, once, in order.
    async with websocket(server.ws_url(token)) as back:
        await back.op(op="resume", after=last_seq)
        replay = [await back.next() for _ in range(sent - last_seq)]
    assert seqs(replay) == list(range(last_seq + 1, sent + 1))


class RawEventSource:
    """An SSE client on a bare socket that reads only when asked to, then not at all."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.sock = socket.socket()
        # A tiny receive window: unread chunks back up into the server at once.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.setblocking(False)
        self.seqs: list[int] = []
        self._read = b""

    async def open(self, port: int) -> None:
        """Connect and send the stream's request."""
        loop = asyncio.get_running_loop()
        await loop.sock_connect(self.sock, ("127.0.0.1", port))
        request = (
            f"GET /v1/stream?token={self.token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Accept: text/event-stream\r\n\r\n"
        )
        await loop.sock_sendall(self.sock, request.encode())

    def port(self) -> int:
        """The client's own port: how the server knows this connection."""
        port: int = self.sock.getsockname()[1]
        return port

    async def read_until(self, seq: int) -> None:
        """Read until the event of seq ``seq`` or a later one has arrived whole."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(10):
            while not self.seqs or self.seqs[-1] < seq:
                data = await loop.sock_recv(self.sock, 65536)
                assert data, "the server closed the connection"
                self._read += data
                # An event is whole once its blank line has arrived (chunks hold whole events).
                *whole, self._read = self._read.split(b"\n\n")
                for event in whole:
                    for line in event.splitlines():
                        if line.startswith(b"id: "):
                            self.seqs.append(int(line.removeprefix(b"id: ")))


def _holds(server: uvicorn.Server, client_port: int) -> bool:
    """Whether the uvicorn server still holds the HTTP connection from this client port."""
    return any(
        isinstance(c, HttpProtocol) and c.client is not None and c.client[1] == client_port
        for c in server.server_state.connections
    )


async def _stall(
    server: Server,
    runtime: Runtime,
    account_id: uuid.UUID,
    user_id: uuid.UUID,
    stalled: RawClient | RawEventSource,
) -> tuple[int, int]:
    """Three events the stalled client reads, then events it never reads until the hub lets
    it go; the last seq it read (where it resumes from) and the events sent."""
    for _ in range(3):
        await _append(runtime, account_id, user_id)
    await stalled.read_until(3)
    last_seq = stalled.seqs[-1]
    assert stalled.seqs == list(range(1, last_seq + 1))
    sent = 3
    while not _let_go(server, user_id) and sent < MAX_EVENTS:
        await _append(runtime, account_id, user_id)
        sent += 1
    assert _let_go(server, user_id), f"{sent} events never filled the buffers"
    return last_seq, sent


@pytest.mark.timeout(60)
async def test_an_event_source_that_stops_reading_is_dropped_within_the_send_timeout(
    strict: tuple[Server, uvicorn.Server], tenant: Tenant
) -> None:
    server, running = strict
    token, user_id = await _user(server, tenant)
    runtime: Runtime = server.app.state.runtime
    cut_before = server.hub.stats.too_slow
    stalled = RawEventSource(token)
    fast_frames: list[dict[str, Any]] = []
    with stalled.sock:
        async with websocket(server.ws_url(token)) as fast:
            await fast.op(op="resume", after=0)
            await stalled.open(server.port)
            reader = asyncio.create_task(_read_all(fast, fast_frames))
            await eventually(lambda: server.hub.count() == 2)
            gauge_before = _gauge("sse")
            last_seq, sent = await _stall(server, runtime, tenant.account_id, user_id, stalled)

            # Out of the hub within the bound: the chunk under way when it was let go times out.
            await eventually(lambda: server.hub.count() == 1, within=SEND_TIMEOUT + SLACK)
            assert server.hub.stats.too_slow == cut_before + 1
            assert gauge_before is not None and _gauge("sse") == gauge_before - 1
            # The unfinished response's socket is cut, its buffers freed.
            await eventually(lambda: not _holds(running, stalled.port()), within=SLACK)
            # The reading client got, and keeps getting, every event.
            for _ in range(2):
                await _append(runtime, tenant.account_id, user_id)
            sent += 2
            await eventually(lambda: len(fast_frames) >= sent)
            reader.cancel()
    assert seqs(fast_frames) == list(range(1, sent + 1))

    # Back with Last-Event-ID: every event after it, once, in order.
    async with sse_stream(server, token, **{"Last-Event-ID": str(last_seq)}) as back:
        replay = await back.take(sent - last_seq)
    assert [int(e["id"]) for e in replay] == list(range(last_seq + 1, sent + 1))
