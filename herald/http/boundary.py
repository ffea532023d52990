"""The last word on errors: an exception no handler knows becomes the contract's 500.

It is logged with its traceback and the request id (bound by ``MetricsMiddleware``, the
layer outside this one), and answered as the contract's 500 body naming that id. It is
answered here rather than by Starlette's ``ServerErrorMiddleware``, which re-raises after
answering: the server then sees a failed application and closes a keep-alive connection the
client still means to use. Only an answer already half sent (a stream) still fails the
connection, the one way left to say so.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import get_contextvars

from herald.errors import HeraldError
from herald.http.dialects import DialectErrors
from herald.http.middleware import send_error
from herald.logs import get_logger

log = get_logger(__name__)


class ErrorBoundary:
    """Unexpected exceptions as a logged traceback plus the contract's 500."""

    def __init__(self, app: ASGIApp, *, dialects: DialectErrors | None = None) -> None:
        self.app = app
        self.dialects = dialects or DialectErrors()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        except Exception:
            log.exception("unhandled_error", method=scope["method"], path=scope["path"])
            if started:
                raise
            request_id = get_contextvars().get("request_id", "unknown")
            error = HeraldError(f"Internal error (request id {request_id})")
            await send_error(scope, receive, send, error, self.dialects)
