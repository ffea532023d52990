"""Who is calling: API keys, OAuth2 access tokens and user tokens become one ``Principal``."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import Depends
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from herald.accounts import scopes as scope_rules
from herald.accounts.cache import CredentialCache, credential_cache, engine_credential_cache
from herald.accounts.models import Account, ApiKey
from herald.accounts.tokens import hash_api_key, looks_like_api_key, verify
from herald.directory.models import User
from herald.errors import Forbidden, TooManyRequests, Unauthorized
from herald.http.deps import RuntimeDep, SessionDep
from herald.http.openapi import raises
from herald.runtime import Runtime
from herald.throttling.middleware import count_request, throttle_request
from herald.throttling.service import AccountLimits, remember_limits


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a server (key or OAuth token) or one user (user token)."""

    account_id: uuid.UUID
    scopes: frozenset[str]
    key_id: uuid.UUID | None = None
    test: bool = False
    user_id: uuid.UUID | None = None
    user_external_id: str | None = None

    @property
    def is_user(self) -> bool:
        """Whether this is a browser or app acting as one user."""
        return self.user_id is not None

    @property
    def actor(self) -> str:
        """How audit trails name this caller: the user's external id, or ``key:<key_id>``."""
        return self.user_external_id if self.user_external_id else f"key:{self.key_id}"

    def require(self, scope: str) -> None:
        """Raise 403 unless this principal holds ``scope``."""
        if not scope_rules.grants(self.scopes, scope):
            raise Forbidden(f"This credential lacks the scope {scope}")


def bearer_token(connection: HTTPConnection, *, allow_query: bool = False) -> str:
    """The bearer token of a request (or ``?token=`` where browsers cannot set headers)."""
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if allow_query and connection.query_params.get("token"):
        return connection.query_params["token"]
    raise Unauthorized("Send a bearer token in the Authorization header")


@dataclass(frozen=True)
class Credential:
    """A credential as the database last said: who it is and its account's limits."""

    principal: Principal
    limits: AccountLimits


Reads = Callable[[], Awaitable[AsyncSession]]
"""The session a credential is read with when the cache does not know it: the request's own,
or one opened only then (``POST /v1/notifications`` opens none when the cache knows it)."""


async def _read_key(reads: Reads, where: ColumnElement[bool], *, refused: str) -> Credential:
    # The account's limits come with the key: the rate is checked next and the daily cap when
    # sending, so one statement replaces three.
    session = await reads()
    found = await session.execute(
        select(
            ApiKey.id,
            ApiKey.account_id,
            ApiKey.scopes,
            ApiKey.test,
            ApiKey.revoked_at,
            Account.rate_limit,
            Account.daily_limit,
        )
        .join(Account, Account.id == ApiKey.account_id)
        .where(where)
    )
    key = found.first()
    if key is None or key.revoked_at is not None:
        raise Unauthorized(refused)
    principal = Principal(key.account_id, frozenset(key.scopes), key_id=key.id, test=key.test)
    return Credential(principal, AccountLimits(key.rate_limit, key.daily_limit))


async def _live_key(
    cache: CredentialCache, reads: Reads, key_id: uuid.UUID, account_id: uuid.UUID
) -> Credential:
    """The key an access token was issued from, while it is not revoked."""
    known = await cache.resolve(
        ("key_id", key_id),
        lambda: _read_key(reads, ApiKey.id == key_id, refused="The token's key has been revoked"),
    )
    if known.principal.account_id != account_id:
        raise Unauthorized("The token's key has been revoked")
    return known


async def _read_user(reads: Reads, user_id: uuid.UUID, account_id: uuid.UUID) -> Credential:
    session = await reads()
    found = await session.execute(
        select(User.id, User.external_id, Account.rate_limit, Account.daily_limit)
        .join(Account, Account.id == User.account_id)
        .where(User.id == user_id, User.account_id == account_id)
    )
    user = found.first()
    if user is None:
        raise Unauthorized("The user of this token no longer exists")
    principal = Principal(
        account_id, frozenset(), user_id=user.id, user_external_id=user.external_id
    )
    return Credential(principal, AccountLimits(user.rate_limit, user.daily_limit))


async def credential(
    token: str, *, cache: CredentialCache, reads: Reads, runtime: Runtime
) -> Credential:
    """The caller a bearer token names, with its account's limits, or 401: from ``cache`` while
    it knows the token, else read with the session ``reads`` gives."""
    if looks_like_api_key(token):
        key_hash = hash_api_key(token)
        return await cache.resolve(
            ("key", key_hash),
            lambda: _read_key(
                reads, ApiKey.key_hash == key_hash, refused="The API key is not valid"
            ),
        )
    claims = verify(token, secret=runtime.secret)
    if claims.kind == "access":
        if claims.key_id is None:
            raise Unauthorized("The token is not valid")
        key = await _live_key(cache, reads, claims.key_id, claims.account_id)
        # The token keeps the scopes its key still grants: narrowed from notifications.write,
        # notifications.telephony.write is granted, though the key does not list it.
        kept = frozenset(s for s in claims.scopes if scope_rules.grants(key.principal.scopes, s))
        return replace(key, principal=replace(key.principal, scopes=kept))
    user_id, account_id = uuid.UUID(claims.subject), claims.account_id
    known = await cache.resolve(
        ("user", user_id, account_id), lambda: _read_user(reads, user_id, account_id)
    )
    # The token says whether it is a test token; the cached user says who it is.
    return replace(known, principal=replace(known.principal, test=claims.test))


def _reads(session: AsyncSession) -> Reads:
    async def read_with() -> AsyncSession:
        return session

    return read_with


async def authenticate(token: str, *, session: AsyncSession, runtime: Runtime) -> Principal:
    """Resolve a bearer token to a principal, or raise 401; the account's limits are kept for
    ``session``'s transaction (the rate is checked next, the daily cap when sending)."""
    known = await credential(
        token, cache=credential_cache(session), reads=_reads(session), runtime=runtime
    )
    remember_limits(session, account_id=known.principal.account_id, limits=known.limits)
    return known.principal


@raises(
    Unauthorized("The API key is not valid"),
    TooManyRequests("Rate limit of 3000 per 1 minute reached for this key"),
)
async def get_principal(
    connection: HTTPConnection, session: SessionDep, runtime: RuntimeDep
) -> Principal:
    """Any authenticated caller; every authenticated request counts against its rate limit."""
    token = bearer_token(connection)
    return await principal_for(connection, token, session=session, runtime=runtime)


def _caller(principal: Principal) -> str:
    """Whose rate a request counts against: its key's, or its user token's user's."""
    return f"key:{principal.key_id}" if principal.key_id else f"user:{principal.user_id}"


async def principal_for(
    connection: HTTPConnection, token: str, *, session: AsyncSession, runtime: Runtime
) -> Principal:
    """The caller a token names, counted against its rate limit (a dialect's routes find the
    token in a header of their own, seed 002's ``X-Auth-Token``)."""
    principal = await authenticate(token, session=session, runtime=runtime)
    await throttle_request(
        connection,
        caller=_caller(principal),
        account_id=principal.account_id,
        session=session,
        throttle=runtime.throttle,
    )
    return principal


async def server_credential(
    connection: HTTPConnection, *, reads: Reads, runtime: Runtime
) -> Credential:
    """What ``server()`` admits, without a session unless the cache misses: the bearer token's
    credential (401), counted against its rate (429), a server credential (403), in that
    order."""
    token = bearer_token(connection)
    cache = engine_credential_cache(runtime.db.engine.sync_engine)
    known = await credential(token, cache=cache, reads=reads, runtime=runtime)
    principal = known.principal
    await count_request(
        connection.scope, caller=_caller(principal), rate=known.limits.rate,
        throttle=runtime.throttle,
    )  # fmt: skip
    _admit_server(principal, None)
    return known


def _admit_server(principal: Principal, scope: str | None) -> None:
    if principal.is_user:
        raise Forbidden("User tokens may only use the /v1/me routes")
    if scope is not None:
        principal.require(scope)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def server(scope: str | None = None) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting server credentials holding ``scope`` (user tokens get 403)."""

    @raises(
        Forbidden(f"This credential lacks the scope {scope}")
        if scope
        else Forbidden("User tokens may only use the /v1/me routes")
    )
    async def dependency(principal: PrincipalDep) -> Principal:
        _admit_server(principal, scope)
        return principal

    return dependency


@raises(Forbidden("This route takes a user token: POST /v1/users/{external_id}/tokens"))
async def get_user_principal(principal: PrincipalDep) -> Principal:
    """A user token (the /v1/me routes); server credentials get 403."""
    if not principal.is_user:
        raise Forbidden("This route takes a user token: POST /v1/users/{external_id}/tokens")
    return principal


UserDep = Annotated[Principal, Depends(get_user_principal)]


async def key_principal(
    connection: HTTPConnection,
    *,
    key_id: uuid.UUID,
    account_id: uuid.UUID,
    session: AsyncSession,
    runtime: Runtime,
) -> Principal:
    """The live key a caller acts with by its id (the console's session names it), 401 once it
    is revoked; the request counts against the key's rate limit like any other of that key."""
    known = await _live_key(credential_cache(session), _reads(session), key_id, account_id)
    remember_limits(session, account_id=account_id, limits=known.limits)
    await throttle_request(
        connection,
        caller=f"key:{key_id}",
        account_id=account_id,
        session=session,
        throttle=runtime.throttle,
    )
    return known.principal
