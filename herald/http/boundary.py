"""The outermost layer of every HTTP request: its request id, and the last word on errors.

Each request gets an id (the client's ``X-Request-Id`` when it is a plain token, else a new
one), bound to every log line the request writes and echoed in the answer's ``X-Request-Id``.
An exception no handler knows is logged with its traceback and that id, and answered as the
contract's 500 body naming the id. It is answered here rather than by Starlette's
``ServerErrorMiddleware``, which re-raises after answering: the server then sees a failed
application and closes a keep-alive connection the client still means to use. Only an
answer already half sent (a stream) still fails the connection, the one way left to say so.
"""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bound_contextvars

from herald.errors import HeraldError
from herald.http.middleware import send_error
from herald.logs import get_logger

log = get_logger(__name__)
HEADER = b"x-request-id"
CLIENT_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


def request_id_of(scope: Scope) -> str:
    """The client's request id when it is a plain token, else a new one."""
    for key, value in scope.get("headers", []):
        if key == HEADER and CLIENT_ID.match(value):
            return str(value.decode("ascii"))
    return uuid.uuid4().hex


class ErrorBoundary:
    """Request ids, and unexpected exceptions as a logged traceback plus the contract's 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [*message.get("headers", ()), (HEADER, request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        with bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                log.exception("unhandled_error", method=scope["method"], path=scope["path"])
                if started:
                    raise
                error = HeraldError(f"Internal error (request id {request_id})")
                await send_error(send_with_id, error)
