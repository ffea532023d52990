"""``GET /v1/stream``: the same events as Server-Sent Events, for EventSource in browsers.

Each event carries ``id: <seq>``, so a browser that reconnects sends ``Last-Event-ID`` and
gets, from the database, exactly what it missed. The stream is one-way: ops go over REST.
Every chunk waits at most ``HERALD_REALTIME_SEND_TIMEOUT`` for the client to take it, as a
WebSocket frame does: a client that stops reading leaves the hub as too slow in bounded time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import Send

from herald.errors import ErrorDetail, ValidationFailed
from herald.realtime import gate, recovery
from herald.realtime.connection import TOO_SLOW, Connection
from herald.realtime.frames import SSE_KEEPALIVE
from herald.realtime.hub import Hub
from herald.realtime.watchdog import SendWatchdog
from herald.runtime import Runtime

# Sent first: how long EventSource waits before it reconnects (milliseconds).
RETRY = b"retry: 1000\n\n"


def last_event_id(request: Request) -> int | None:
    """Where a reconnecting client left off: ``Last-Event-ID``, or ``?last_event_id=``."""
    value = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    if value is None or value == "":
        return None
    if not value.isdigit():
        detail = ErrorDetail("/header/Last-Event-ID", "must be a sequence number")
        raise ValidationFailed("The request is invalid", details=[detail])
    return int(value)


async def open_stream(request: Request, *, hub: Hub, runtime: Runtime) -> StreamingResponse:
    """Admit the client (401/403 otherwise) and start its stream where it left off."""
    principal = await gate.admit(request, runtime)
    product = gate.product_of(request)
    after = last_event_id(request)
    assert principal.user_id is not None
    connection = hub.connect(
        account_id=principal.account_id,
        user_id=principal.user_id,
        product=product,
        transport="sse",
    )
    try:
        if after is None:
            async with runtime.db.sessions() as session:
                after = await recovery.head(session, principal.user_id)
    except BaseException:
        hub.disconnect(connection)
        raise
    hub.start_at(connection, after)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    origin = request.headers.get("origin")
    if origin is not None:
        headers["Access-Control-Allow-Origin"] = origin
    settings = runtime.settings
    return _Stream(
        connection,
        hub=hub,
        keepalive=settings.realtime_keepalive,
        bound=settings.realtime_send_timeout,
        headers=headers,
    )


class _Stream(StreamingResponse):
    """The connection's events as a response whose every chunk waits at most ``bound`` s.

    Unbounded, a chunk to a client that reads nothing would wait for as long as the client
    does, holding its place in the hub (whose "too slow" only the sender acts on) and its socket.
    A chunk not taken in time ends the response unfinished: the server then cuts the socket
    (``herald.cli.serve.HttpProtocol``).
    """

    def __init__(
        self,
        connection: Connection,
        *,
        hub: Hub,
        keepalive: float,
        bound: float,
        headers: dict[str, str],
    ) -> None:
        super().__init__(
            _events(connection, keepalive), media_type="text/event-stream", headers=headers
        )
        self._connection = connection
        self._hub = hub
        self._bound = bound

    async def stream_response(self, send: Send) -> None:
        """Send the stream; leave the hub once it ends, the client leaves or a chunk waits."""
        watchdog = SendWatchdog(self._bound)  # in the task that sends, which it may cancel
        try:
            await super().stream_response(lambda message: watchdog.send(send(message)))
        except TimeoutError:
            self._connection.close(TOO_SLOW)
        finally:
            watchdog.stop()
            self._hub.disconnect(self._connection)


async def _events(connection: Connection, keepalive: float) -> AsyncIterator[bytes]:
    yield RETRY
    while connection.closure is None:
        _, events = await connection.take(keepalive)
        if connection.closure is not None:
            return
        yield b"".join(e.sse() for e in events) if events else SSE_KEEPALIVE
