"""Routes of real time: the WebSocket ``/v1/realtime`` and the SSE stream ``/v1/stream``.

The WebSocket is a bare ASGI endpoint that the application serves ahead of its HTTP middleware
and router (``herald.app.HeraldApp``): every layer a WebSocket passes through stays suspended as
a coroutine frame for the connection's whole life, and at 10,000 connections those frames are
memory and garbage-collector time (docs/performance.md). None of those layers acts on a
WebSocket: the middleware handles HTTP requests only, and the endpoint answers its own errors.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import HTTPConnection, Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from herald.errors import (
    ErrorDetail,
    Forbidden,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
)
from herald.http.deps import RuntimeDep
from herald.http.openapi import raises
from herald.realtime import sse, websocket
from herald.realtime.hub import Hub

router = APIRouter(tags=["realtime"])
WEBSOCKET_PATH = "/v1/realtime"


def get_hub(connection: HTTPConnection) -> Hub:
    """This process's hub (made by the application's lifespan)."""
    hub: Hub = connection.app.state.hub
    return hub


HubDep = Annotated[Hub, Depends(get_hub)]


async def realtime(scope: Scope, receive: Receive, send: Send) -> None:
    """Two-way real time: server frames ``{"event", "data", "seq"}``, client ops ``{"op"}``.

    The ASGI application of ``WEBSOCKET_PATH``, for a WebSocket scope whose ``app`` is Herald's.
    """
    state = scope["app"].state
    await websocket.serve(WebSocket(scope, receive, send), hub=state.hub, runtime=state.runtime)


@router.get(
    "/v1/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
@raises(
    Unauthorized("Send a bearer token in the Authorization header"),
    Forbidden("Real-time connections take a user token: POST /v1/users/{id}/tokens"),
    ValidationFailed(
        "The request is invalid",
        details=[ErrorDetail("/header/Last-Event-ID", "must be a sequence number")],
    ),
    ServiceUnavailable("The database cannot be reached; try again shortly"),
)
async def stream(request: Request, hub: HubDep, runtime: RuntimeDep) -> StreamingResponse:
    """One-way real time as Server-Sent Events; honours ``Last-Event-ID``."""
    return await sse.open_stream(request, hub=hub, runtime=runtime)
