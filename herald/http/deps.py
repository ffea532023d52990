"""Dependencies every feature's routes share: the runtime and one transaction per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from herald.config import Settings
from herald.db import Database, discard_after_commit, run_after_commit
from herald.errors import ServiceUnavailable
from herald.http.openapi import raises
from herald.runtime import Runtime


async def get_runtime(connection: HTTPConnection) -> Runtime:
    """The process's runtime, for HTTP and WebSocket routes alike.

    ``async``: FastAPI runs a plain function in a worker thread, a trip to the thread pool
    and back for every request (~9% of the accept path's HTTP work under py-spy)."""
    runtime: Runtime = connection.app.state.runtime
    return runtime


async def get_settings(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Settings:
    """The process settings."""
    return runtime.settings


@asynccontextmanager
async def transaction(db: Database) -> AsyncIterator[AsyncSession]:
    """A session in one transaction, committed when the block ends without an error.

    Hooks registered with ``on_commit`` (bus publications) run after the commit, and only then.
    """
    async with db.sessions() as session:
        try:
            async with session.begin():
                yield session
        except BaseException:
            discard_after_commit(session)
            raise
        await run_after_commit(session)


@raises(ServiceUnavailable("The database cannot be reached; try again shortly"))
async def get_session(
    runtime: Annotated[Runtime, Depends(get_runtime)],
) -> AsyncIterator[AsyncSession]:
    """A session in one transaction, committed when the route returns and before the answer
    (``transaction``)."""
    async with transaction(runtime.db) as session:
        yield session


class OnDemand:
    """A transaction opened only if something asks for its session (``await on_demand()``),
    and then committed when the ``async with`` block ends: a request that finds all it needs
    in memory (a cached credential) pays for no session, no connection and no commit."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._opened: AbstractAsyncContextManager[AsyncSession] | None = None
        self._session: AsyncSession | None = None

    async def __call__(self) -> AsyncSession:
        if self._session is None:
            self._opened = transaction(self._db)
            self._session = await self._opened.__aenter__()
        return self._session

    async def __aenter__(self) -> OnDemand:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        opened, self._opened, self._session = self._opened, None, None
        if opened is not None:
            await opened.__aexit__(kind, error, trace)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": commit runs right after the route function, so a 2xx means committed.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
