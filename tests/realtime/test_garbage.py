"""A WebSocket's life leaves the server no cyclic garbage of its own.

With thousands of connections open, a full garbage collection decides the latency tail, so
they had better be rare; garbage in cycles is memory held until the next one
(docs/performance.md).
"""

from __future__ import annotations

import asyncio
import gc

from tests.realtime.conftest import Api, Server, websocket

# Left by a connection's set-up before: the upgraded HTTP protocol and its parser (uvicorn),
# and the session of the token check (its info held its own transaction).
CYCLIC = {"HttpToolsProtocol", "HttpProtocol", "HttpRequestParser", "AsyncSession", "Session"}


async def test_a_websocket_leaves_no_cyclic_garbage(api: Api, server: Server) -> None:
    _, token = await api.user()
    before = server.hub.count()
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        async with websocket(server.ws_url(token)) as client:
            await client.op(op="ping")
            assert await client.next() == {"event": "pong"}
        for _ in range(1000):  # the server's side of the close, 10 s at most
            if server.hub.count() == before:
                break
            await asyncio.sleep(0.01)
        gc.collect()
        left = sorted({type(o).__qualname__ for o in gc.garbage} & CYCLIC)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert left == []
