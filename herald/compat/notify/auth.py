"""Notify's authentication: ``Authorization: Bearer <JWT>``, HS256, signed with the secret of
one of the service's keys, ``iss`` the service id, ``iat`` within 30 seconds of now.

Checked in Notify's order, with its messages (``app/authentication/auth.py``): the header, the
token's issuer, the service, then each of its keys' secrets until one verifies the signature.
The account's Notify keys (secrets unsealed) and limits are remembered for a second like any
credential (``herald.accounts.cache``), so a request reads nothing when its key was just seen.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import jwt
from fastapi import Depends
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from herald.accounts.auth import Principal
from herald.accounts.cache import credential_cache
from herald.accounts.models import Account, ApiKey
from herald.compat.notify import errors
from herald.delivery.sealing import UnsealError, unseal
from herald.errors import RateLimitReached
from herald.http.deps import RuntimeDep, SessionDep
from herald.throttling.middleware import throttle_request
from herald.throttling.service import AccountLimits, remember_limits

ALGORITHM = "HS256"
CLOCK_SKEW = 30
"""Seconds ``iat`` may be from the server's clock, either way (Notify's bound)."""
GENERAL_TOKEN_ERROR = (
    "Invalid token: make sure your API token matches the example at "
    "https://docs.notifications.service.gov.uk/rest-api.html#authorisation-header"
)
CLOCK_ERROR = "Error: Your system clock must be accurate to within 30 seconds"


@dataclass(frozen=True)
class NotifyKey:
    """One of a service's Notify-format keys, as authentication needs it."""

    id: uuid.UUID
    secret: str | None
    """None when it cannot be unsealed (the deployment's key changed): it verifies nothing."""
    key_type: str
    scopes: frozenset[str]
    revoked_at: datetime | None


@dataclass(frozen=True)
class Service:
    """An account seen as a Notify service: its keys and its limits."""

    keys: tuple[NotifyKey, ...]
    limits: AccountLimits


@dataclass(frozen=True)
class NotifyCaller:
    """Who a ``/v2`` request is: the principal the services take, and its key's type."""

    principal: Principal
    key_type: str

    @property
    def service_id(self) -> uuid.UUID:
        """The Notify service id: the account's id."""
        return self.principal.account_id


def bearer(connection: HTTPConnection) -> str:
    """The token after ``Bearer `` (any case, as Notify reads it); 401 without one."""
    header = connection.headers.get("authorization")
    if not header:
        raise errors.auth("Unauthorized: authentication token must be provided", status=401)
    if header[:7].title() != "Bearer ":
        raise errors.auth("Unauthorized: authentication bearer scheme must be used", status=401)
    return header[7:]


def issuer(token: str) -> uuid.UUID:
    """The service id the token claims, read before its signature is checked."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False}, algorithms=[ALGORITHM])
    except jwt.PyJWTError as exc:
        raise errors.auth(GENERAL_TOKEN_ERROR) from exc
    if "iss" not in claims:
        raise errors.auth("Invalid token: iss field not provided")
    try:
        return uuid.UUID(str(claims["iss"]))
    except ValueError as exc:
        raise errors.auth("Invalid token: service id is not the right data type") from exc


def _unsealed(sealing_key: str, sealed: str | None) -> str | None:
    if sealed is None:
        return None
    try:
        return unseal(sealing_key, sealed)
    except UnsealError:
        return None


async def read_service(
    session: AsyncSession, account_id: uuid.UUID, sealing_key: str
) -> Service | None:
    """The account's Notify keys and limits; None when there is no such account."""
    account = (
        await session.execute(
            select(Account.rate_limit, Account.daily_limit).where(Account.id == account_id)
        )
    ).first()
    if account is None:
        return None
    rows = await session.execute(
        select(ApiKey.id, ApiKey.secret, ApiKey.notify_type, ApiKey.scopes, ApiKey.revoked_at)
        .where(ApiKey.account_id == account_id, ApiKey.notify_type.is_not(None))
        .order_by(ApiKey.id)
    )
    keys = tuple(
        NotifyKey(row.id, _unsealed(sealing_key, row.secret), str(row.notify_type),
                  frozenset(row.scopes), row.revoked_at)
        for row in rows
    )  # fmt: skip
    return Service(keys, AccountLimits(account.rate_limit, account.daily_limit))


def _claims(token: str, secret: str) -> Mapping[str, Any] | None:
    """The verified claims, None when another secret signed the token; Notify's errors for a
    wrong algorithm or a token that is not valid at all."""
    try:
        return jwt.decode(token, secret, algorithms=[ALGORITHM], options={"verify_iat": False})
    except jwt.InvalidAlgorithmError as exc:
        raise errors.auth("Invalid token: algorithm used is not HS256") from exc
    except jwt.DecodeError:
        return None  # includes a bad signature: perhaps another key's
    except jwt.PyJWTError as exc:
        raise errors.auth(GENERAL_TOKEN_ERROR) from exc


def _check_iat(claims: Mapping[str, Any]) -> bool:
    """Whether ``iat`` is there; a 403 when it is off the server's clock by more than 30 s."""
    if "iat" not in claims:
        return False
    iat = claims["iat"]
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise errors.auth(CLOCK_ERROR)
    now = int(time.time())  # whole seconds, as Notify compares them
    if now > iat + CLOCK_SKEW or iat > now + CLOCK_SKEW:
        raise errors.auth(CLOCK_ERROR)
    return True


def match_key(token: str, service: Service) -> NotifyKey:
    """The key whose secret signed ``token``, as Notify looks for it."""
    if not service.keys:
        raise errors.auth("Invalid token: service has no API keys")
    for key in service.keys:
        claims = _claims(token, key.secret) if key.secret is not None else None
        if claims is None or not _check_iat(claims):
            continue  # Notify goes on to the next key when iat is missing, too
        if key.revoked_at is not None:
            raise errors.auth("Invalid token: API key revoked")
        return key
    raise errors.auth("Invalid token: API key not found")


async def authenticate(token: str, *, session: AsyncSession, sealing_key: str) -> NotifyCaller:
    """The caller a Notify JWT names, or Notify's ``AuthError``."""
    account_id = issuer(token)
    cache = credential_cache(session)
    service = await cache.resolve(
        ("notify", account_id), lambda: read_service(session, account_id, sealing_key)
    )
    if service is None:
        raise errors.auth("Invalid token: service not found")
    key = match_key(token, service)
    remember_limits(session, account_id=account_id, limits=service.limits)
    principal = Principal(account_id, key.scopes, key_id=key.id, test=key.key_type == "test")
    return NotifyCaller(principal, key.key_type)


async def notify_caller(
    connection: HTTPConnection, session: SessionDep, runtime: RuntimeDep
) -> NotifyCaller:
    """A ``/v2`` request's caller; the request counts against its key's rate (Notify's 429)."""
    caller = await authenticate(bearer(connection), session=session, sealing_key=runtime.secret)
    try:
        await throttle_request(
            connection,
            caller=f"key:{caller.principal.key_id}",
            account_id=caller.service_id,
            session=session,
            throttle=runtime.throttle,
        )
    except RateLimitReached as exc:
        raise errors.rate_limited(exc, key_type=caller.key_type) from exc
    return caller


CallerDep = Annotated[NotifyCaller, Depends(notify_caller)]
