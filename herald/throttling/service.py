"""Request rates per key, counted with ``limits``; the accounts' limits as stored.

Counters live in memory (one process) or in Redis (``rate_limit_storage_url``, else a Redis
``bus_url``) so that every API process shares them. Daily message caps are counted in the
database instead (``herald.throttling.daily``), atomically with the work they pay for. A
refused request raises a 429 whose headers say when to come back; an admitted one reports its
quota in ``RateLimit-*`` headers.
"""

from __future__ import annotations

import math
import time
import uuid
import weakref
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string
from redis.asyncio import ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account
from herald.config import Settings
from herald.errors import RateLimitReached
from herald.throttling.fallback import FallbackLimiter

REDIS_SCHEMES = ("redis://", "rediss://")
# Redis answers a counter in well under a millisecond; one that takes a second is down, and
# the request counts in memory instead of waiting (herald/throttling/fallback.py).
REDIS_TIMEOUT = 1.0


def storage_uri(settings: Settings) -> str:
    """The ``limits`` async storage for these settings: Redis when configured, else memory."""
    url = settings.rate_limit_storage_url or settings.bus_url
    if url and url.startswith(REDIS_SCHEMES):
        return f"async+{url}"
    if url and url.startswith("async+"):
        return url
    return "async+memory://"


@lru_cache(maxsize=256)
def _parsed(rate: str) -> RateLimitItem:
    """A rate as ``limits`` takes it, parsed once per distinct rate string."""
    item: RateLimitItem = parse(rate)
    return item


@dataclass(frozen=True)
class Quota:
    """Where a caller stands in its window: the ``RateLimit-*`` headers."""

    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        """``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``."""
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The same headers as ASGI sends them (lower-case names)."""
        return [(name.lower().encode(), value.encode()) for name, value in self.headers().items()]


class Throttle:
    """The limiter of one process, built from settings."""

    def __init__(self, settings: Settings) -> None:
        uri = storage_uri(settings)
        # Herald owns the Redis pool (redis-py, not limits' default client) to close it on exit.
        self._pool = (
            ConnectionPool.from_url(
                uri.removeprefix("async+"),
                socket_timeout=REDIS_TIMEOUT,
                socket_connect_timeout=REDIS_TIMEOUT,
            )
            if "redis" in uri
            else None
        )
        self.limiter: FixedWindowRateLimiter | FallbackLimiter
        if self._pool is None:
            self.limiter = FixedWindowRateLimiter(storage_from_string(uri))
        else:
            # No retries inside a call (redis-py's default is three, with back-off): a Redis
            # that is down is answered by the fallback at once.
            options: dict[str, Any] = {
                "implementation": "redispy",
                "connection_pool": self._pool,
                "retry": Retry(NoBackoff(), 0),
            }
            shared = FixedWindowRateLimiter(storage_from_string(uri, **options))
            self.limiter = FallbackLimiter(shared, reset=self._pool.disconnect)
        self.default_rate = settings.rate_limit
        self.default_daily = settings.daily_limit
        self._daily_used: dict[tuple[uuid.UUID, str], int] = {}

    def daily_used(self, account_id: uuid.UUID, day: str) -> int:
        """The least an account is known to have used on ``day`` (0 when nothing is known)."""
        return self._daily_used.get((account_id, day), 0)

    def note_daily_used(self, account_id: uuid.UUID, day: str, used: int) -> None:
        """Remember a committed daily count (refusals say it); other days are forgotten."""
        self._daily_used = {key: value for key, value in self._daily_used.items() if key[1] == day}
        self._daily_used[(account_id, day)] = max(used, self.daily_used(account_id, day))

    @property
    def degraded(self) -> bool:
        """Whether the counters are in this process's memory because Redis is unreachable."""
        return isinstance(self.limiter, FallbackLimiter) and self.limiter.degraded

    async def close(self) -> None:
        """Close the Redis connections, if any."""
        if self._pool is not None:
            await self._pool.aclose()

    async def hit_request(self, *, caller: str, rate: str | None) -> Quota:
        """Count one request of ``caller`` (a key, or a user token); 429 when over the rate."""
        item = _parsed(rate or self.default_rate)
        allowed = await self.limiter.hit(item, "request", caller)
        stats = await self.limiter.get_window_stats(item, "request", caller)
        quota = Quota(
            item.amount, stats.remaining, max(1, math.ceil(stats.reset_time - time.time()))
        )
        if not allowed:
            headers = {**quota.headers(), "Retry-After": str(quota.reset_seconds)}
            raise RateLimitReached(
                f"Rate limit of {item} reached for this key",
                limit=item.amount,
                seconds=item.get_expiry(),
                headers=headers,
            )
        return quota


@dataclass(frozen=True)
class AccountLimits:
    """An account's own request rate and daily message cap (None: the process default)."""

    rate: str | None
    daily: int | None


LIMITS_KEY = "account_limits"


def remember_limits(session: AsyncSession, *, account_id: uuid.UUID, limits: AccountLimits) -> None:
    """Keep limits read along with something else (the caller's key) for this transaction."""
    # A weak reference: a strong one would make session -> info -> transaction -> session a
    # cycle, garbage that only a full collection frees, once per request and per WebSocket.
    transaction = session.sync_session.get_transaction()
    if transaction is not None:
        session.info[LIMITS_KEY] = (weakref.ref(transaction), account_id, limits)


def known_limits(session: AsyncSession, *, account_id: uuid.UUID) -> AccountLimits | None:
    """The account's limits if this transaction read them already, else None."""
    remembered = session.info.get(LIMITS_KEY)
    transaction = session.sync_session.get_transaction()
    if (
        remembered is not None
        and transaction is not None
        and remembered[0]() is transaction
        and remembered[1] == account_id
    ):
        found: AccountLimits = remembered[2]
        return found
    return None


async def account_limits(session: AsyncSession, *, account_id: uuid.UUID) -> AccountLimits:
    """The account's limits, read at most once per transaction.

    The rate is checked at authentication and the daily cap when sending: one read serves both.
    """
    found = known_limits(session, account_id=account_id)
    if found is not None:
        return found
    row = (
        await session.execute(
            select(Account.rate_limit, Account.daily_limit).where(Account.id == account_id)
        )
    ).first()
    limits = AccountLimits(None, None) if row is None else AccountLimits(row[0], row[1])
    remember_limits(session, account_id=account_id, limits=limits)
    return limits


async def account_rate(session: AsyncSession, *, account_id: uuid.UUID) -> str | None:
    """The account's own request rate, if it has one."""
    return (await account_limits(session, account_id=account_id)).rate
