"""Accounts, keys and tokens: the logic behind the routes and the CLI. Never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_object_session

from herald.accounts import scopes as scope_rules
from herald.accounts import tokens
from herald.accounts.cache import forget_credentials
from herald.accounts.models import Account, ApiKey
from herald.accounts.oauth import TokenRequest, invalid_client
from herald.accounts.schemas import AccountPatch, KeyCreate
from herald.db import new_id, utcnow
from herald.delivery.sealing import seal
from herald.errors import Forbidden, NotFound, OAuthError, Unauthorized


@dataclass(frozen=True)
class IssuedKey:
    """A key as made: the row and the plain key, which is never seen again."""

    key: ApiKey
    plain: str


async def create_account(
    session: AsyncSession, *, name: str, parent_id: uuid.UUID | None = None
) -> Account:
    """A new account, root or the child of ``parent_id``."""
    account_id = new_id()
    path = f"/{account_id}/"
    if parent_id is not None:
        parent = await session.get(Account, parent_id)
        if parent is None:
            raise NotFound("No such parent account")
        path = f"{parent.path}{account_id}/"
    account = Account(id=account_id, name=name, parent_id=parent_id, path=path)
    session.add(account)
    await session.flush()
    return account


def is_within(account: Account, ancestor_id: uuid.UUID) -> bool:
    """Whether ``account`` is ``ancestor_id`` or one of its descendants."""
    return f"/{ancestor_id}/" in account.path


async def visible_account(
    session: AsyncSession, *, caller_id: uuid.UUID, account_id: uuid.UUID
) -> Account:
    """An account the caller may see (itself or a descendant); others are 404."""
    account = await session.get(Account, account_id)
    if account is None or not is_within(account, caller_id):
        raise NotFound("No such account")
    return account


async def children(
    session: AsyncSession, *, account_id: uuid.UUID, offset: int, limit: int
) -> tuple[list[Account], int]:
    """Direct children of an account, oldest first, with their count."""
    where = Account.parent_id == account_id
    total = await session.scalar(select(func.count()).select_from(Account).where(where))
    rows = await session.scalars(
        select(Account).where(where).order_by(Account.id).offset(offset).limit(limit)
    )
    return list(rows), int(total or 0)


async def descendants(session: AsyncSession, *, account: Account) -> list[Account]:
    """Every account below ``account`` in the tree."""
    rows = await session.scalars(
        select(Account).where(Account.path.startswith(account.path), Account.id != account.id)
    )
    return list(rows)


def update_account(account: Account, patch: AccountPatch, *, by_ancestor: bool) -> Account:
    """Apply a patch; only an ancestor (or the CLI) may change limits."""
    if patch.limits is not None:
        if not by_ancestor:
            raise Forbidden("An account's limits are set by its parent account")
        fields = patch.limits.model_fields_set
        session = async_object_session(account)
        if session is not None:
            forget_credentials(session)  # cached keys carry their account's limits
        if "rate" in fields:
            account.rate_limit = patch.limits.rate
        if "daily" in fields:
            account.daily_limit = patch.limits.daily
        if "sms_allowance" in fields:
            account.sms_allowance = patch.limits.sms_allowance
    if patch.name is not None:
        account.name = patch.name
    if patch.retention_days is not None:
        account.retention_days = patch.retention_days
    if patch.default_locale is not None:
        account.default_locale = patch.default_locale
    if patch.default_region is not None:
        account.default_region = patch.default_region
    return account


async def create_key(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    scopes: list[str] | None = None,
    test: bool = False,
    name: str = "",
) -> IssuedKey:
    """A new API key with the given scopes (all of them when none are given)."""
    made = tokens.make_api_key(test=test)
    granted = sorted(set(scopes)) if scopes else list(scope_rules.BASE_SCOPES)
    key = ApiKey(
        account_id=account_id,
        name=name,
        prefix=made.prefix,
        key_hash=made.key_hash,
        scopes=granted,
        test=test,
    )
    session.add(key)
    await session.flush()
    return IssuedKey(key=key, plain=made.plain)


NOTIFY_KEY_NAME = "herald"


async def issue_key(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    held: frozenset[str],
    body: KeyCreate,
    sealing_key: str,
) -> IssuedKey:
    """A key as ``POST /v1/keys`` makes it for a caller holding ``held``: every scope it names
    must be one the caller holds (403 otherwise; none named: the caller's own), a Herald key
    or, with ``notify``, a GOV.UK Notify-format key of ``type``."""
    scopes = body.scopes or sorted(held)
    for scope in scopes:
        if not scope_rules.grants(held, scope):
            raise Forbidden(f"This credential lacks the scope {scope}")
    if body.notify:
        return await create_notify_key(
            session,
            account_id=account_id,
            key_type=body.type or "live",
            name=body.name or NOTIFY_KEY_NAME,
            sealing_key=sealing_key,
            scopes=scopes,
        )
    return await create_key(
        session, account_id=account_id, scopes=scopes, test=body.test, name=body.name
    )


async def create_notify_key(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    key_type: tokens.NotifyKeyType,
    name: str,
    sealing_key: str,
    scopes: list[str] | None = None,
) -> IssuedKey:
    """A GOV.UK Notify-format key: its secret sealed (the server checks the JWTs it signs),
    the whole key hashed like any other key's; a ``test`` key never reaches a provider."""
    if await session.get(Account, account_id) is None:
        raise NotFound("No such account")
    made = tokens.make_notify_key(name=name, account_id=account_id)
    granted = sorted(set(scopes)) if scopes else list(scope_rules.BASE_SCOPES)
    key = ApiKey(
        account_id=account_id,
        name=name,
        prefix=name[:32],
        key_hash=tokens.hash_api_key(made.plain),
        scopes=granted,
        test=key_type == "test",
        notify_type=key_type,
        secret=seal(sealing_key, made.secret),
    )
    session.add(key)
    await session.flush()
    forget_credentials(session)  # the account's remembered Notify keys are one entry
    return IssuedKey(key=key, plain=made.plain)


async def list_keys(session: AsyncSession, *, account_id: uuid.UUID) -> list[ApiKey]:
    """Every key of an account, oldest first."""
    rows = await session.scalars(
        select(ApiKey).where(ApiKey.account_id == account_id).order_by(ApiKey.id)
    )
    return list(rows)


async def revoke_key(session: AsyncSession, *, account_id: uuid.UUID, key_id: uuid.UUID) -> None:
    """Revoke a key of the account (tokens issued from it stop working too): at once in this
    process, within ``cache.TTL`` in the others, which may have it remembered."""
    key = await session.get(ApiKey, key_id)
    if key is None or key.account_id != account_id:
        raise NotFound("No such key")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    forget_credentials(session)


async def client_credentials(
    session: AsyncSession, *, request: TokenRequest, secret: str, ttl: timedelta
) -> tuple[str, frozenset[str]]:
    """OAuth2 client credentials: the key id and key buy a JWT limited to a subset of scopes.

    A scope may be any the key grants: an all-scope key (``notifications.write``) grants every
    ``notifications.<type>.write`` too, so it may narrow to one of them.
    """
    try:
        key_id = uuid.UUID(request.client_id)
    except ValueError as exc:
        raise invalid_client("Unknown client") from exc
    key = await session.get(ApiKey, key_id)
    if (
        key is None
        or key.revoked_at is not None
        or key.key_hash != tokens.hash_api_key(request.client_secret)
    ):
        raise invalid_client("Unknown client or wrong secret")
    held = frozenset(key.scopes)
    wanted = frozenset(request.scope.split()) if request.scope else held
    refused = sorted(s for s in wanted if not scope_rules.grants(held, s))
    if refused:
        raise OAuthError("invalid_scope", f"The key does not grant {' '.join(refused)}")
    token, _ = tokens.issue(
        secret=secret,
        kind="access",
        account_id=key.account_id,
        subject=f"key:{key.id}",
        ttl=ttl,
        scopes=wanted,
        key_id=key.id,
        test=key.test,
    )
    return token, wanted


async def token_for_key(
    session: AsyncSession, *, api_key: str, secret: str, ttl: timedelta
) -> tuple[str, ApiKey]:
    """An access token with every scope of a live API key (seed 002's ``PUT /api_auth``),
    and the key; 401 for an unknown or revoked key."""
    key = await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == tokens.hash_api_key(api_key))
    )
    if key is None or key.revoked_at is not None:
        raise Unauthorized("The API key is not valid")
    token, _ = tokens.issue(
        secret=secret,
        kind="access",
        account_id=key.account_id,
        subject=f"key:{key.id}",
        ttl=ttl,
        scopes=frozenset(key.scopes),
        key_id=key.id,
        test=key.test,
    )
    return token, key
