"""Rate limiting that outlives its shared storage: while Redis cannot be reached, count in this
process's memory; go back to Redis once it answers again.

A request must never fail because the counters are away. While they are, each process counts
on its own from zero, so N API processes admit up to N times a key's rate (and an account's
daily cap may be overshot by what each process counts during the outage); that is the price,
told in a log line, in the ``herald_rate_limit_fallback`` gauge and in ``/readyz``. After a
failure Redis is left alone for ``retry_seconds``; then the next request tries it again (one at
a time), so a Redis that hangs costs at most one request its socket timeout per retry period.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from limits import RateLimitItem, WindowStats
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from prometheus_client import Counter, Gauge
from redis.exceptions import RedisError

from herald.logs import get_logger

log = get_logger(__name__)
T = TypeVar("T")
# redis-py's ConnectionError and TimeoutError are RedisErrors; a refused socket is an OSError.
SHARED_ERRORS = (RedisError, OSError, StorageError)

FALLBACK = Gauge(
    "herald_rate_limit_fallback",
    "1 while this process counts rate limits in its own memory because their shared storage "
    "(Redis) cannot be reached",
)
STORAGE_ERRORS = Counter(
    "herald_rate_limit_storage_errors_total",
    "Rate-limit storage calls that failed, after which this process counted in memory",
)


class FallbackLimiter:
    """A fixed-window limiter on shared storage, with this process's memory as the fallback."""

    def __init__(
        self,
        shared: FixedWindowRateLimiter,
        *,
        reset: Callable[[], Awaitable[None]],
        retry_seconds: float = 5.0,
    ) -> None:
        """``reset`` drops the shared storage's connections after a failure: the ones pooled
        before Redis went away are dead, and each would otherwise fail once more after it is
        back, sending the process to memory again."""
        self.shared = shared
        self._reset = reset
        self.local = FixedWindowRateLimiter(MemoryStorage())
        self.retry_seconds = retry_seconds
        self.failing_since: float | None = None
        self._retry_at = 0.0
        self._probing = False

    @property
    def degraded(self) -> bool:
        """Whether counts are kept in this process only, for now."""
        return self.failing_since is not None

    async def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        """Count ``cost`` against ``item`` for ``identifiers``; False when over the limit."""
        return await self._either(lambda limiter: limiter.hit(item, *identifiers, cost=cost))

    async def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        """When the window resets and how much of it is left."""
        return await self._either(lambda limiter: limiter.get_window_stats(item, *identifiers))

    async def _either(self, call: Callable[[FixedWindowRateLimiter], Awaitable[T]]) -> T:
        if not self._shared_now():
            return await call(self.local)
        probing = self.degraded
        self._probing = probing
        try:
            result = await call(self.shared)
        except SHARED_ERRORS as exc:
            self._failed(exc)
            await self._reset()
            return await call(self.local)
        finally:
            if probing:
                self._probing = False
        if probing:
            self._recovered()
        return result

    def _shared_now(self) -> bool:
        if self.failing_since is None:
            return True
        return not self._probing and time.monotonic() >= self._retry_at

    def _failed(self, exc: BaseException) -> None:
        STORAGE_ERRORS.inc()
        self._retry_at = time.monotonic() + self.retry_seconds
        if self.failing_since is None:
            self.failing_since = time.monotonic()
            FALLBACK.set(1)
            log.warning(
                "rate_limit_storage_unavailable",
                error=repr(exc),
                fallback="counting in this process's memory until Redis answers again",
            )

    def _recovered(self) -> None:
        if self.failing_since is None:
            return
        down = time.monotonic() - self.failing_since
        self.failing_since = None
        FALLBACK.set(0)
        log.warning("rate_limit_storage_recovered", seconds_in_memory=round(down, 1))
