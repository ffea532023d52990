"""One transaction at a time per worker process on SQLite.

SQLite has a single writer and every Herald transaction begins ``IMMEDIATE``; two of a
worker's own transactions racing for the lock would make one wait in SQLite's busy
handler, which sleeps in steps of up to 100 ms. Queueing them in the process instead
costs nothing. PostgreSQL needs no gate: its transactions run side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession

from herald.db import Database, run_after_commit


class Gate:
    """Opens transactions on ``db``, one at a time when the database is SQLite."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = asyncio.Lock() if db.settings.is_sqlite else None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction, committed at the end; ``on_commit`` hooks run after."""
        async with self._lock or contextlib.nullcontext(), self.db.sessions() as session:
            async with session.begin():
                yield session
            await run_after_commit(session)
