"""``GET /v1/stream``: the same events as Server-Sent Events, for EventSource in browsers.

Each event carries ``id: <seq>``, so a browser that reconnects sends ``Last-Event-ID`` and
gets, from the database, exactly what it missed. The stream is one-way: ops go over REST.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import StreamingResponse

from herald.errors import ErrorDetail, ValidationFailed
from herald.realtime import gate, recovery
from herald.realtime.connection import Connection
from herald.realtime.frames import SSE_KEEPALIVE
from herald.realtime.hub import Hub
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
    body = _stream(connection, hub=hub, keepalive=runtime.settings.realtime_keepalive)
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


async def _stream(connection: Connection, *, hub: Hub, keepalive: float) -> AsyncIterator[bytes]:
    try:
        yield RETRY
        while connection.closure is None:
            _, events = await connection.take(keepalive)
            if connection.closure is not None:
                return
            yield b"".join(e.sse() for e in events) if events else SSE_KEEPALIVE
    finally:
        hub.disconnect(connection)
