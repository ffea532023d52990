"""Per-request rate limiting at authentication, and its ``RateLimit-*`` headers on every answer."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from herald.throttling.service import Quota, Throttle, account_rate

STATE_KEY = "rate_limit_quota"


async def throttle_request(
    connection: HTTPConnection,
    *,
    caller: str,
    account_id: uuid.UUID,
    session: AsyncSession,
    throttle: Throttle,
) -> None:
    """Count this authenticated request against its caller's rate (429 when over it)."""
    rate = await account_rate(session, account_id=account_id)
    await count_request(connection.scope, caller=caller, rate=rate, throttle=throttle)


async def count_request(scope: Scope, *, caller: str, rate: str | None, throttle: Throttle) -> None:
    """Count a request against ``rate`` (None: the process default), 429 when over it; the
    answer then carries the caller's ``RateLimit-*`` headers (``RateLimitHeaders``)."""
    quota = await throttle.hit_request(caller=caller, rate=rate)
    scope.setdefault("state", {})[STATE_KEY] = quota


class RateLimitHeaders:
    """Add the caller's ``RateLimit-*`` headers to the answer of a counted request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            quota = scope.get("state", {}).get(STATE_KEY)
            if message["type"] == "http.response.start" and isinstance(quota, Quota):
                # The raw list, with the names present read once (``MutableHeaders.setdefault``
                # walked every header for each of the three).
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                for name, value in quota.raw_headers():
                    if name not in present:
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
