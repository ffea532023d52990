"""Who a credential is, remembered for a second: API keys and users read once per second per
process instead of once per request.

Every authenticated request used to read its key (or its user) and the account's limits: one
statement of the ten an accept sends. Entries live ``TTL`` seconds. The process that revokes
a key, deletes a user or changes an account's limits forgets every entry at once, and again
after its transaction commits (``forget_credentials``); other processes keep theirs until
they expire, so there such a change takes effect within ``TTL`` (docs/architecture.md).

One cache per engine, that is per ``Database``: two applications in one test process behave
like two processes on the same database.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncSession

from herald.db import on_commit

TTL = 1.0
"""Seconds a remembered credential is trusted without reading the database again."""
MAX_ENTRIES = 10_000
T = TypeVar("T")


class CredentialCache:
    """A bounded map whose entries are trusted for ``TTL`` seconds from when they were read.

    Past half its life, an entry is read again by the first request that looks it up, while
    the others keep using it: under load an entry is renewed before it expires, so requests
    do not all miss at once (with SQLite's single connection a read waits its turn, and every
    request arriving meanwhile would read the same row again). Nothing is ever older than
    ``TTL``, and a renewal that fails (a revoked key: 401) drops the entry.

    ``generation`` counts invalidations: a read that began before one is not remembered, so
    a row read just before a revocation committed is never kept after it.
    """

    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[float, float, Any]] = {}
        self._renewing: set[Hashable] = set()
        self.generation = 0

    async def resolve(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        """The value remembered under ``key``, else (or when due for renewal) what ``read``
        returns, remembered for ``TTL`` seconds from the start of the read."""
        now = time.monotonic()
        found = self._entries.get(key)
        if found is not None:
            renew_at, expires_at, value = found
            if now < renew_at or (now < expires_at and key in self._renewing):
                remembered: T = value
                return remembered
        generation, started = self.generation, now
        self._renewing.add(key)
        try:
            fresh = await read()
        except BaseException:
            self._entries.pop(key, None)
            raise
        finally:
            self._renewing.discard(key)
        self._put(key, fresh, generation=generation, read_at=started)
        return fresh

    def _put(self, key: Hashable, value: Any, *, generation: int, read_at: float) -> None:
        if generation != self.generation:
            return
        if key not in self._entries and len(self._entries) >= MAX_ENTRIES:
            # The first inserted goes: dicts keep insertion order; it is only a bound.
            del self._entries[next(iter(self._entries))]
        self._entries[key] = (read_at + TTL / 2, read_at + TTL, value)

    def clear(self) -> None:
        """Forget everything, and refuse results of reads begun before now."""
        self.generation += 1
        self._entries.clear()
        self._renewing.clear()


_caches: weakref.WeakKeyDictionary[Engine, CredentialCache] = weakref.WeakKeyDictionary()


def credential_cache(session: AsyncSession) -> CredentialCache:
    """The cache of the database ``session`` talks to."""
    bind = session.get_bind()
    return engine_credential_cache(bind.engine if isinstance(bind, Connection) else bind)


def engine_credential_cache(engine: Engine) -> CredentialCache:
    """The cache of ``engine``'s database (for a request that has opened no session)."""
    found = _caches.get(engine)
    if found is None:
        found = _caches[engine] = CredentialCache()
    return found


def forget_credentials(session: AsyncSession) -> None:
    """Drop this process's remembered credentials now and once ``session`` commits.

    Now: later requests of this process read the database again. After the commit: a request
    that read the old row before the change committed cannot have put it back.
    """
    cache = credential_cache(session)
    cache.clear()

    async def clear_again() -> None:
        cache.clear()

    on_commit(session, clear_again)
