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
from collections.abc import Hashable
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncSession

from herald.db import on_commit

TTL = 1.0
"""Seconds a remembered credential is trusted without reading the database again."""
MAX_ENTRIES = 10_000


class CredentialCache:
    """A bounded map whose entries expire ``TTL`` seconds after they were read.

    ``generation`` counts invalidations: a lookup notes it before reading the database and
    stores its result only if no invalidation happened meanwhile, so a row read just before
    a revocation committed is never remembered after it.
    """

    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self.generation = 0

    def get(self, key: Hashable) -> Any | None:
        """The live value under ``key``, or None."""
        found = self._entries.get(key)
        if found is None:
            return None
        if found[0] <= time.monotonic():
            del self._entries[key]
            return None
        return found[1]

    def put(self, key: Hashable, value: Any, *, generation: int) -> None:
        """Remember ``value`` if nothing was invalidated since ``generation`` was read."""
        if generation != self.generation:
            return
        if len(self._entries) >= MAX_ENTRIES:
            # Oldest first: dicts keep insertion order, and every entry lives as long.
            del self._entries[next(iter(self._entries))]
        self._entries[key] = (time.monotonic() + TTL, value)

    def clear(self) -> None:
        """Forget everything, and refuse results read before now."""
        self.generation += 1
        self._entries.clear()


_caches: weakref.WeakKeyDictionary[Engine, CredentialCache] = weakref.WeakKeyDictionary()


def credential_cache(session: AsyncSession) -> CredentialCache:
    """The cache of the database ``session`` talks to."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
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
