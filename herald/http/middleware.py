"""ASGI middleware: body size and content type limits, request metrics."""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from herald.errors import HeraldError, PayloadTooLarge, UnsupportedMediaType
from herald.metrics import HTTP_LATENCY, HTTP_REQUESTS

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
FORM_PATHS = frozenset({"/oauth/token"})
# SMS providers post delivery receipts as forms (Twilio's StatusCallback).
FORM_PREFIXES = ("/v1/receipts/", "/console/")  # the console's pages post HTML forms


async def _send_error(send: Send, error: HeraldError) -> None:
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
    """Refuse bodies over the limit (413) and non-JSON bodies on JSON routes (415), early."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await _send_error(send, self._too_large())
            return
        content_type = _header(scope, b"content-type")
        has_body = length != "0"
        wrong_type = content_type is not None and not _is_json(content_type)
        form = scope["path"] in FORM_PATHS or scope["path"].startswith(FORM_PREFIXES)
        if has_body and wrong_type and not form:
            await _send_error(send, UnsupportedMediaType("Send the body as application/json"))
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
                    await _send_error(send, self._too_large())
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counting_receive, guarded_send)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"The body is larger than {self.max_bytes} bytes")


class MetricsMiddleware:
    """Count requests and time them by route template (not raw path, to bound cardinality)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], template, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], template).observe(time.perf_counter() - started)
