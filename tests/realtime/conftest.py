"""A real uvicorn server per database backend, and real clients: ``websockets`` and httpx SSE.

The ASGI in-process transport cannot speak WebSocket, so the application runs in uvicorn on a
free port, as a task of the session's event loop; tests reach it over loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from herald.app import create_app
from herald.cli.serve import HttpProtocol, WebSocketProtocol
from herald.realtime.hub import Hub
from tests.bus.conftest import free_port
from tests.conftest import MakeTenant, Tenant, settings_for

ALLOWED_ORIGIN = "https://app.example"
QUEUE = 8
WAIT = 10.0
_names = itertools.count()


def unique(prefix: str) -> str:
    """An external id no other test uses."""
    return f"{prefix}{next(_names)}-{uuid.uuid4().hex[:6]}"


@dataclass
class Server:
    """A running Herald API process (in this event loop) and how to reach it."""

    app: FastAPI
    port: int

    @property
    def http(self) -> str:
        """Base URL for HTTP."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def hub(self) -> Hub:
        """The server's hub, to read its counters."""
        hub: Hub = self.app.state.hub
        return hub

    def ws_url(self, token: str | None = None, **query: str) -> str:
        """The WebSocket URL with ``?token=`` and other query parameters."""
        params = httpx.QueryParams({**({"token": token} if token else {}), **query})
        return f"ws://127.0.0.1:{self.port}/v1/realtime?{params}"


async def serve(app: FastAPI, port: int) -> AsyncIterator[uvicorn.Server]:
    """Run ``app`` in uvicorn on ``port`` until the caller is done."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        # herald api's protocols (herald/cli.py SERVER_OPTIONS), which test_garbage.py relies on.
        http=HttpProtocol,
        ws=WebSocketProtocol,
        # No protocol pings: the back-pressure test stalls a client on purpose, and on a busy
        # machine filling its buffers outlasted even a 60 s ping, whose timeout then closed it
        # (1011) before the hub's 4008. Herald's own keep-alive (realtime_keepalive) stays.
        ws_ping_interval=None,
        timeout_graceful_shutdown=2,
        access_log=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield server
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="session")
async def server(database_url: str) -> AsyncIterator[Server]:
    """Herald on this backend, with an origin allow-list and a small per-connection buffer."""
    settings = settings_for(
        database_url,
        allowed_origins=ALLOWED_ORIGIN,
        realtime_queue=QUEUE,
        realtime_resume_grace=0.3,
        realtime_keepalive=2,
        # test_backpressure's slow client reads its 4008 only after the fast one has caught
        # up, which a busy machine may stretch past the default send timeout.
        realtime_send_timeout=60,
    )
    app = create_app(settings)
    port = free_port()
    async for _ in serve(app, port):
        yield Server(app, port)


@dataclass
class Api:
    """A tenant's view of the server over HTTP: users, tokens, notifications, inbox."""

    server: Server
    tenant: Tenant
    http: httpx.AsyncClient

    async def user(self, external_id: str | None = None) -> tuple[str, str]:
        """Create a user; its external id and a user token."""
        external_id = external_id or unique("u")
        made = await self.http.put(f"/v1/users/{external_id}", json={"name": external_id})
        assert made.status_code in (200, 201), made.text
        issued = await self.http.post(f"/v1/users/{external_id}/tokens")
        assert issued.status_code == 201, issued.text
        return external_id, issued.json()["token"]

    async def send(self, sub_type: str, users: list[str], **extra: Any) -> dict[str, Any]:
        """POST a telephony notification to these users."""
        body = {"type": "telephony", "subType": sub_type, "targets": {"users": users}, **extra}
        answer = await self.http.post("/v1/notifications", json=body)
        assert answer.status_code == 202, answer.text
        result: dict[str, Any] = answer.json()
        return result


def call(call_id: str, **fields: Any) -> dict[str, Any]:
    """A seed 000 call payload."""
    return {
        "id": call_id,
        "created": "2023-11-01T10:28:00",
        "callerId": "07123 456789",
        "destinationId": "01234 567890",
        "huntGroup": True,
        **fields,
    }


@pytest.fixture
async def api(server: Server, tenant: Tenant) -> AsyncIterator[Api]:
    """The test tenant's API client against the real server."""
    async with httpx.AsyncClient(base_url=server.http, headers=tenant.headers) as http:
        yield Api(server, tenant, http)


MakeApi = Callable[[], Awaitable[Api]]


@pytest.fixture
async def make_api(server: Server, make_tenant: MakeTenant) -> AsyncIterator[MakeApi]:
    """``await make_api()`` -> an Api of a new tenant."""
    async with contextlib.AsyncExitStack() as stack:

        async def make() -> Api:
            tenant = await make_tenant(unique("t"))
            http = httpx.AsyncClient(base_url=server.http, headers=tenant.headers)
            await stack.enter_async_context(http)
            return Api(server, tenant, http)

        yield make


@dataclass(eq=False)
class Client:
    """A WebSocket client that reads server frames, skipping keep-alive pings."""

    socket: ClientConnection
    frames: list[dict[str, Any]] = field(default_factory=list)

    async def next(self, within: float = WAIT) -> dict[str, Any]:
        """The next frame other than ``ping``."""
        async with asyncio.timeout(within):
            while True:
                frame: dict[str, Any] = orjson.loads(await self.socket.recv())
                if frame.get("event") != "ping":
                    self.frames.append(frame)
                    return frame

    async def until(self, event: str, within: float = WAIT) -> dict[str, Any]:
        """Read frames until one of ``event``; return it."""
        async with asyncio.timeout(within):
            while (frame := await self.next()).get("event") != event:
                pass
        return frame

    async def op(self, **frame: Any) -> None:
        """Send a client op."""
        await self.socket.send(orjson.dumps(frame).decode())


@contextlib.asynccontextmanager
async def websocket(url: str, **options: Any) -> AsyncIterator[Client]:
    """A connected WebSocket client, closed at the end of the block."""
    async with connect(url, open_timeout=WAIT, **options) as socket:
        yield Client(socket)


async def events_of(client: Client, count: int) -> list[dict[str, Any]]:
    """The next ``count`` frames."""
    return [await client.next() for _ in range(count)]


def seqs(frames: list[dict[str, Any]]) -> list[int]:
    """The sequence numbers of some frames."""
    return [f["seq"] for f in frames]
