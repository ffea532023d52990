"""Routes of real time: the WebSocket ``/v1/realtime`` and the SSE stream ``/v1/stream``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import HTTPConnection, Request
from starlette.responses import StreamingResponse
from starlette.websockets import WebSocket

from herald.http.deps import RuntimeDep
from herald.realtime import sse, websocket
from herald.realtime.hub import Hub

router = APIRouter(tags=["realtime"])


def get_hub(connection: HTTPConnection) -> Hub:
    """This process's hub (made by the application's lifespan)."""
    hub: Hub = connection.app.state.hub
    return hub


HubDep = Annotated[Hub, Depends(get_hub)]


@router.websocket("/v1/realtime")
async def realtime(socket: WebSocket, hub: HubDep, runtime: RuntimeDep) -> None:
    """Two-way real time: server frames ``{"event", "data", "seq"}``, client ops ``{"op"}``."""
    await websocket.serve(socket, hub=hub, runtime=runtime)


@router.get(
    "/v1/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(request: Request, hub: HubDep, runtime: RuntimeDep) -> StreamingResponse:
    """One-way real time as Server-Sent Events; honours ``Last-Event-ID``."""
    return await sse.open_stream(request, hub=hub, runtime=runtime)
