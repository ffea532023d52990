"""Per-request rate limiting at authentication; ``HttpFront`` (``herald.http.middleware``) adds
the ``RateLimit-*`` headers of the quota left in the scope to the answer."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from starlette.types import Scope

from herald.throttling.service import Throttle, account_rate

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
    answer then carries the caller's ``RateLimit-*`` headers (``HttpFront``)."""
    quota = await throttle.hit_request(caller=caller, rate=rate)
    scope.setdefault("state", {})[STATE_KEY] = quota
