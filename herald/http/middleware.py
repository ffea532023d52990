"""The HTTP front layer: request ids, metrics and the access log, body limits, CORS on the user
routes, ``RateLimit-*`` headers and the last word on errors, in one pass."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bind_contextvars, get_contextvars, unbind_contextvars

from herald.errors import HeraldError, PayloadTooLarge, UnsupportedMediaType
from herald.http.cors import PREFIXES as CORS_PREFIXES
from herald.http.cors import user_route_cors
from herald.http.dialects import DialectErrors
from herald.logs import access_log, get_logger
from herald.metrics import HTTP_LATENCY, HTTP_REQUESTS
from herald.throttling.middleware import STATE_KEY
from herald.throttling.service import Quota

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
FORM_PATHS = frozenset({"/oauth/token"})
# SMS providers post delivery receipts as forms (Twilio's StatusCallback), and the
# messages people send them (Twilio's incoming-message webhook).
# The console's pages post HTML forms; mail clients post RFC 8058 one-click unsubscribes.
FORM_PREFIXES = ("/v1/receipts/", "/console/", "/unsubscribe/")
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
INBOUND = ("/v1/providers/", "/inbound")

log = get_logger(__name__)


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


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class HttpFront:
    """Every HTTP request's way in and out, in one ASGI layer.

    It was five (metrics, the error boundary, the body limit, CORS on the user routes, the
    ``RateLimit-*`` headers), each wrapping ``send`` (and the body limit ``receive``) in
    closures of its own per request: ~50 us of Herald's ~150 us CPU per ``GET /healthz``
    (docs/performance.md, issue 19, "Third round, 2: the HTTP layers"). One pass does the same:

    - the request id: the client's ``X-Request-Id`` when sane, else a new one; answered in
      ``X-Request-Id`` on every answer and bound to every log line of the request;
    - requests counted and timed by route template (not raw path, to bound cardinality), and
      with ``access_log`` a log line per request;
    - bodies over ``max_bytes`` refused (413), by ``Content-Length`` before the app runs or,
      chunked, counted as they stream; non-JSON bodies on JSON routes refused (415). A
      dialect's routes read their own content types (seed 002 uploads HTML and text), and
      their errors take the dialect's envelope;
    - Starlette's CORS on ``/v1/me/...`` and the SSE stream (``herald.http.cors``);
    - the caller's ``RateLimit-*`` headers on the answer of a counted request;
    - the last word on errors: an exception no handler knows is logged with its traceback and
      the request id, and answered as the contract's 500 naming that id. It is answered here
      rather than by Starlette's ``ServerErrorMiddleware``, which re-raises after answering:
      the server then sees a failed application and closes a keep-alive connection the client
      still means to use. Only an answer already half sent (a stream) still fails the
      connection, the one way left to say so.

    What this layer answers itself (413, 415, 500) carries the request id but neither CORS nor
    ``RateLimit-*`` headers, as when those were inner layers.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        origins: frozenset[str] | None,
        dialects: DialectErrors | None = None,
        access_log: bool = True,
    ) -> None:
        self.app = app
        self.cors = user_route_cors(app, origins)
        self.max_bytes = max_bytes
        self.dialects = dialects or DialectErrors()
        self.access_log = access_log
        # prometheus_client's ``labels()`` checks, converts and locks on every call; its
        # children live as long as the metric, so each is looked up once.
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given_id = length = content_type = None
        chunked = False
        for key, value in scope["headers"]:
            # The first of each, as a lookup by name reads it.
            if key == b"x-request-id" and given_id is None:
                given_id = value.decode("latin-1")
            elif key == b"content-length" and length is None:
                length = value.decode("latin-1")
            elif key == b"content-type" and content_type is None:
                content_type = value.decode("latin-1")
            elif key == b"transfer-encoding":
                chunked = True
        if given_id is not None and REQUEST_ID.fullmatch(given_id):
            request_id = given_id
        else:
            request_id = secrets.token_hex(8)
        id_header = (b"x-request-id", request_id.encode())
        bind_contextvars(request_id=request_id)
        status = 500
        answered = False  # a response start went out: a later failure can only cut the stream
        refused = False  # a streamed body went over the limit: 413 sent, the app's answer not
        seen = 0

        async def front_send(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = int(message["status"])
                answered = True
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        async def app_send(message: Message) -> None:
            nonlocal status, answered
            if refused:
                return
            if message["type"] == "http.response.start":
                status = int(message["status"])
                answered = True
                headers = list(message.get("headers", ()))
                quota = scope.get("state", {}).get(STATE_KEY)
                if isinstance(quota, Quota):
                    present = {name.lower() for name, _ in headers}
                    for name, value in quota.raw_headers():
                        if name not in present:
                            headers.append((name, value))
                headers.append(id_header)
                message["headers"] = headers
            await send(message)

        async def counting_receive() -> Message:
            # A body without Content-Length (chunked) is counted as it streams; once it is over
            # the limit we answer 413 ourselves and tell the app the client went away.
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    await send_error(scope, receive, front_send, self._too_large(), self.dialects)
                    return {"type": "http.disconnect"}
            return message

        try:
            app_receive = receive
            if scope["method"] in BODY_METHODS:
                declared = int(length) if length is not None and length.isdigit() else None
                if declared is not None and declared > self.max_bytes:
                    await send_error(scope, receive, front_send, self._too_large(), self.dialects)
                    return
                wrong_type = content_type is not None and not _is_json(content_type)
                if length != "0" and wrong_type and not self._owns_types(scope["path"]):
                    refusal = UnsupportedMediaType("Send the body as application/json")
                    await send_error(scope, receive, front_send, refusal, self.dialects)
                    return
                # The server frames a body by its Content-Length: one declared within the limit
                # cannot grow past it, so only a body without one is counted (or with a
                # Transfer-Encoding too, which would frame it instead, were it let through).
                if declared is None or chunked:
                    app_receive = counting_receive
            inner = self.cors if scope["path"].startswith(CORS_PREFIXES) else self.app
            await inner(scope, app_receive, app_send)
        except Exception:
            log.exception("unhandled_error", method=scope["method"], path=scope["path"])
            if answered:
                raise
            named = get_contextvars().get("request_id", "unknown")
            error = HeraldError(f"Internal error (request id {named})")
            await send_error(scope, receive, front_send, error, self.dialects)
        finally:
            self._observe(scope, status, time.perf_counter() - started, request_id)

    def _observe(self, scope: Scope, status: int, elapsed: float, request_id: str) -> None:
        method = scope["method"]
        route: Any = scope.get("route")
        template = getattr(route, "path", "unmatched")
        counted = self._counted.get((method, template, status))
        if counted is None:
            counted = HTTP_REQUESTS.labels(method, template, str(status))
            self._counted[(method, template, status)] = counted
        counted.inc()
        timed = self._timed.get((method, template))
        if timed is None:
            timed = HTTP_LATENCY.labels(method, template)
            self._timed[(method, template)] = timed
        timed.observe(elapsed)
        if self.access_log:
            access_log(
                method=method,
                route=template,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                request_id=request_id,
            )
        unbind_contextvars("request_id")

    def _owns_types(self, path: str) -> bool:
        inbound = path.startswith(INBOUND[0]) and path.endswith(INBOUND[1])
        return (
            path in FORM_PATHS
            or path.startswith(FORM_PREFIXES)
            or inbound
            or self.dialects.owns(path)
        )

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"The body is larger than {self.max_bytes} bytes")
