"""Who is calling seed 002's routes: the ``X-Auth-Token`` header (the token ``PUT /api_auth``
gave, an API key, or an OAuth2 access token), and which account a path's ``{A}`` names.

A caller reaches its own account and every account below it (a reseller edits its
children's templates); any other account id is a 404, as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from herald.accounts.auth import Principal, principal_for
from herald.accounts.models import Account
from herald.accounts.service import visible_account
from herald.compat.kazoo.envelope import auth_token
from herald.compat.kazoo.ids import parse_id
from herald.errors import Forbidden, Unauthorized
from herald.http.deps import RuntimeDep, SessionDep


def caller(scope: str | None = None) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting a server credential (holding ``scope``) sent as X-Auth-Token."""

    async def dependency(
        connection: HTTPConnection, session: SessionDep, runtime: RuntimeDep
    ) -> Principal:
        token = auth_token(connection.scope)
        if not token:
            raise Unauthorized("Send the X-Auth-Token header (PUT /kazoo/v2/api_auth gives one)")
        principal = await principal_for(connection, token, session=session, runtime=runtime)
        if principal.is_user:
            raise Forbidden("This API takes an API key or the token of PUT /kazoo/v2/api_auth")
        if scope is not None:
            principal.require(scope)
        return principal

    return dependency


Reader = Annotated[Principal, Depends(caller("templates.read"))]
Writer = Annotated[Principal, Depends(caller("templates.write"))]
LogReader = Annotated[Principal, Depends(caller("deliveries.read"))]
Broadcaster = Annotated[Principal, Depends(caller("accounts.write"))]


async def path_account(session: AsyncSession, principal: Principal, account_id: str) -> Account:
    """The account a path names: the caller's or a descendant's, else 404."""
    wanted = parse_id(account_id, what="account")
    return await visible_account(session, caller_id=principal.account_id, account_id=wanted)
