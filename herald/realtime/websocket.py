"""``GET /v1/realtime``: the two-way WebSocket of one user.

The connection's own task is the sender: it drains the connection's buffer to the socket (and
pings an idle one). One more task, the receiver, carries out the client's ops. The client
leaving, or the hub's request to close (too slow, shutdown), ends both. Every frame, the close
frame too, waits at most ``HERALD_REALTIME_SEND_TIMEOUT`` for the client to take it: a client
that stops reading is dropped as too slow in bounded time, not held until it reads again.
One task more per connection, not three: at 10,000 connections every task and every event costs
memory and garbage-collector time (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from herald.accounts.auth import Principal
from herald.bus.base import cancel_task
from herald.errors import HeraldError
from herald.http.handlers import error_response
from herald.realtime import gate, ops, recovery
from herald.realtime.connection import LEFT, TOO_SLOW, Connection
from herald.realtime.frames import PING
from herald.realtime.hub import Hub
from herald.realtime.watchdog import SendWatchdog
from herald.runtime import Runtime


async def serve(websocket: WebSocket, *, hub: Hub, runtime: Runtime) -> None:
    """Admit (or refuse before accepting), then run the connection until either side ends it."""
    try:
        principal = await gate.admit(websocket, runtime)
        product = gate.product_of(websocket)
    except HeraldError as error:
        await websocket.send_denial_response(error_response(error))
        return
    assert principal.user_id is not None
    await websocket.accept()
    connection = hub.connect(
        account_id=principal.account_id,
        user_id=principal.user_id,
        product=product,
        transport="websocket",
    )
    try:
        await _run(websocket, connection, principal, hub=hub, runtime=runtime)
    finally:
        hub.disconnect(connection)


async def _run(
    websocket: WebSocket,
    connection: Connection,
    principal: Principal,
    *,
    hub: Hub,
    runtime: Runtime,
) -> None:
    # Read the head once the connection is registered: an event committed after this read is
    # announced to a hub that already knows the connection, so nothing falls between the two.
    head = await _head(runtime, connection)
    receiver = asyncio.create_task(
        _receive_forever(websocket, connection, principal, head, hub=hub, runtime=runtime)
    )
    receiver.add_done_callback(lambda _: connection.close(LEFT))
    settings = runtime.settings
    timeout = settings.realtime_send_timeout
    try:
        await _send_forever(websocket, connection, settings.realtime_keepalive, timeout)
    finally:
        await cancel_task(receiver)
        hub.disconnect(connection)  # before the close frame, which a stalled client may hold up
    if connection.closure is not None and connection.closure is not LEFT:
        await _close(websocket, connection.closure.code, connection.closure.reason, timeout)


async def _head(runtime: Runtime, connection: Connection) -> int:
    # Its own frame: a session left in ``_run``'s locals would be held (with its ORM state)
    # for as long as the connection lives.
    async with runtime.db.sessions() as session:
        return await recovery.head(session, connection.user_id)


async def _close(websocket: WebSocket, code: int, reason: str, bound: float) -> None:
    """Send a close frame, unless the client is gone or cannot take even that in time.

    A close frame that cannot be written in time is given up: the application returns and the
    server cuts the socket (``herald.cli.serve.WebSocketProtocol``).
    """
    if websocket.application_state != WebSocketState.CONNECTED:
        return
    with contextlib.suppress(TimeoutError, RuntimeError, OSError, WebSocketDisconnect):
        async with asyncio.timeout(bound):
            await websocket.close(code, reason)


async def _send_forever(
    websocket: WebSocket, connection: Connection, keepalive: float, bound: float
) -> None:
    """Drain the connection to the socket until it closes, or a frame waits ``bound`` s.

    Unbounded, a send to a client that reads nothing would wait for as long as the client does,
    and the hub's "too slow" (which only the sender acts on) would never take effect.
    """
    watchdog = SendWatchdog(bound)
    try:
        while connection.closure is None:
            replies, events = await connection.take(keepalive)
            if connection.closure is not None:
                return
            if not replies and not events:
                await watchdog.send(websocket.send_text(PING.decode()))
            for reply in replies:
                await watchdog.send(websocket.send_text(reply.decode()))
            for event in events:
                await watchdog.send(websocket.send_text(event.text()))
    except TimeoutError:
        connection.close(TOO_SLOW)
    finally:
        watchdog.stop()


async def _receive_forever(
    websocket: WebSocket,
    connection: Connection,
    principal: Principal,
    head: int,
    *,
    hub: Hub,
    runtime: Runtime,
) -> None:
    """Carry out client ops until the client leaves.

    A new connection waits briefly for a first ``resume`` before it starts at the head, so that
    a resuming client never gets a live event before its replay (order) or twice (once).
    """
    grace = runtime.settings.realtime_resume_grace
    while True:
        try:
            async with asyncio.timeout(grace if connection.position is None else None):
                message = await websocket.receive()
        except TimeoutError:
            hub.start_at(connection, head)
            continue
        if message["type"] == "websocket.disconnect":
            return
        try:
            frame = ops.parse(message.get("text") or message.get("bytes") or b"")
        except HeraldError as error:
            connection.reply(ops.error_frame(error))
            continue
        if connection.position is None and frame["op"] != "resume":
            hub.start_at(connection, head)
        await ops.handle(
            frame, connection=connection, principal=principal, hub=hub, runtime=runtime
        )
