"""ASGI middleware: body size and content type limits, request metrics and the access log."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bind_contextvars, unbind_contextvars

from herald.errors import HeraldError, PayloadTooLarge, UnsupportedMediaType
from herald.http.dialects import DialectErrors
from herald.logs import access_log
from herald.metrics import HTTP_LATENCY, HTTP_REQUESTS

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
FORM_PATHS = frozenset({"/oauth/token"})
# SMS providers post delivery receipts as forms (Twilio's StatusCallback), and the
# messages people send them (Twilio's incoming-message webhook).
# The console's pages post HTML forms; mail clients post RFC 8058 one-click unsubscribes.
FORM_PREFIXES = ("/v1/receipts/", "/console/", "/unsubscribe/")
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
INBOUND = ("/v1/providers/", "/inbound")


async def send_error(
    scope: Scope, receive: Receive, send: Send, error: HeraldError, dialects: DialectErrors
) -> None:
    """Answer ``error`` from middleware (before or around the routes), in the contract's body
    or, on a dialect's path, in that dialect's."""
    render = dialects.renderer_for(scope["path"])
    if render is not None:
        await render(error, error.status_code, scope)(scope, receive, send)
        return
    body = orjson.dumps(error.body())
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class BodyLimitMiddleware:
    """Refuse bodies over the limit (413) and non-JSON bodies on JSON routes (415), early.

    A dialect's routes read their own content types (seed 002 uploads HTML and text), and
    their errors take the dialect's envelope.
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, dialects: DialectErrors | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.dialects = dialects or DialectErrors()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await send_error(scope, receive, send, self._too_large(), self.dialects)
            return
        content_type = _header(scope, b"content-type")
        has_body = length != "0"
        wrong_type = content_type is not None and not _is_json(content_type)
        path = scope["path"]
        inbound = path.startswith(INBOUND[0]) and path.endswith(INBOUND[1])
        own_types = (
            path in FORM_PATHS
            or path.startswith(FORM_PREFIXES)
            or inbound
            or self.dialects.owns(path)
        )
        if has_body and wrong_type and not own_types:
            error = UnsupportedMediaType("Send the body as application/json")
            await send_error(scope, receive, send, error, self.dialects)
            return
        await self._limited(scope, receive, send)

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A body without Content-Length (chunked) is counted as it streams; once it is over the
        # limit we answer 413 ourselves and tell the app the client went away.
        seen = 0
        refused = False

        async def counting_receive() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    await send_error(scope, receive, send, self._too_large(), self.dialects)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counting_receive, guarded_send)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"The body is larger than {self.max_bytes} bytes")


class MetricsMiddleware:
    """Count requests and time them by route template (not raw path, to bound cardinality);
    with ``access_log``, a log line per request too.

    Each request gets an id: the client's ``X-Request-Id`` when it sends a sane one, else a new
    one. It is answered in ``X-Request-Id`` and carried by every log line of the request.
    """

    def __init__(self, app: ASGIApp, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        request_id = _request_id(scope)
        bind_contextvars(request_id=request_id)

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                header = (b"x-request-id", request_id.encode())
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route: Any = scope.get("route")
            template = getattr(route, "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], template, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], template).observe(elapsed)
            if self.access_log:
                access_log(
                    method=scope["method"],
                    route=template,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                    request_id=request_id,
                )
            unbind_contextvars("request_id")


def _request_id(scope: Scope) -> str:
    given = _header(scope, b"x-request-id")
    if given is not None and REQUEST_ID.fullmatch(given):
        return given
    return secrets.token_hex(8)
