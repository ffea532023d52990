"""Starting a process while its database or bus is still coming up: wait, don't crash.

Deployments start everything at once (and restart a database or Redis under running
processes); a ``herald api`` or ``herald worker`` that exits because PostgreSQL or Redis was
not up yet is one more thing to restart. So a process waits for them at start, retrying with
back-off and saying so in a log line, for up to ``STARTUP_WAIT`` seconds; what then still fails
is raised. A mistake (a wrong URL scheme, a database never migrated) is raised at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg  # type: ignore[import-untyped]
from redis.exceptions import RedisError

from herald.bus.base import backoff
from herald.errors import DatabaseUnavailable
from herald.logs import get_logger

log = get_logger(__name__)
T = TypeVar("T")
STARTUP_WAIT = 60.0
# What a server that is not up yet raises (a refused or reset socket is an OSError).
NOT_YET = (DatabaseUnavailable, OSError, RedisError, asyncpg.PostgresError, asyncpg.InterfaceError)


async def once_up(
    what: str, start: Callable[[], Awaitable[T]], *, within: float = STARTUP_WAIT
) -> T:
    """``await start()``, again after a back-off while ``what`` is not up yet."""
    deadline = time.monotonic() + within
    attempt = 0
    while True:
        try:
            return await start()
        except NOT_YET as exc:
            if time.monotonic() >= deadline:
                raise
            log.warning(
                "waiting_for_dependency", dependency=what, attempt=attempt + 1, error=repr(exc)
            )
        await asyncio.sleep(backoff(attempt, base=0.2, cap=5.0))
        attempt += 1
