"""Providers per account (``/v1/providers``) and the ones a worker sends through.

An account's providers are validated against the provider's own pydantic ``Settings``
model, stored sealed, and answered with every secret masked. A worker sends a channel's
messages through the account's active providers in priority order (failover, each with
its circuit breaker); an account with none uses the process-wide default from settings
(``HERALD_SMTP_URL`` for email) — an account's own providers replace it rather than add
to it, so mail never leaves through the operator's relay once a tenant brought its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.channels.base import Provider
from herald.channels.registry import ProviderRegistry, UnknownProvider
from herald.config import Settings
from herald.db import utcnow
from herald.delivery.models import AccountProvider
from herald.delivery.sealing import seal, unseal
from herald.errors import ErrorDetail, NotFound, ValidationFailed, json_pointer

AnyProvider = Provider[Any, Any]


def _default_configs(settings: Settings) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """The process-wide providers settings configure, by channel: (provider name, settings)."""
    email = [("smtp", {"url": settings.smtp_url.get_secret_value()})] if settings.smtp_url else []
    return {"email": email}


def validated(registry: ProviderRegistry, *, channel: str, name: str, config: Any) -> BaseModel:
    """``config`` checked against the provider's settings model; 404/422 as the API says."""
    try:
        cls = registry.get(channel, name)
    except UnknownProvider:
        raise NotFound(f"No provider {channel}/{name} is installed") from None
    try:
        return cls.Settings.model_validate(config)
    except ValidationError as exc:
        details = [
            ErrorDetail(json_pointer(("settings", *e["loc"])), e["msg"]) for e in exc.errors()
        ]
        raise ValidationFailed("The provider's settings are invalid", details=details) from None


async def put_provider(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    channel: str,
    name: str,
    config: dict[str, Any],
    priority: int,
    active: bool,
    registry: ProviderRegistry,
    secret: str,
) -> AccountProvider:
    """Create or replace the account's provider ``channel``/``name``."""
    validated(registry, channel=channel, name=name, config=config)
    row = await _find(session, account_id=account_id, channel=channel, name=name)
    if row is None:
        row = AccountProvider(account_id=account_id, channel=channel, provider=name)
        session.add(row)
    row.settings = seal(secret, orjson.dumps(config).decode())
    row.priority = priority
    row.active = active
    row.updated_at = utcnow()
    await session.flush()
    return row


async def list_providers(session: AsyncSession, *, account_id: uuid.UUID) -> list[AccountProvider]:
    """The account's providers by channel, then priority."""
    rows = await session.scalars(
        select(AccountProvider)
        .where(AccountProvider.account_id == account_id)
        .order_by(AccountProvider.channel, AccountProvider.priority, AccountProvider.provider)
    )
    return list(rows)


async def delete_provider(
    session: AsyncSession, *, account_id: uuid.UUID, channel: str, name: str
) -> None:
    """Remove one of the account's providers, or 404."""
    row = await _find(session, account_id=account_id, channel=channel, name=name)
    if row is None:
        raise NotFound("No such provider")
    await session.delete(row)


def masked_settings(
    row: AccountProvider, *, registry: ProviderRegistry, secret: str
) -> dict[str, Any]:
    """The provider's settings with every secret field shown as ``**********``."""
    config = orjson.loads(unseal(secret, row.settings))
    model = validated(registry, channel=row.channel, name=row.provider, config=config)
    masked: dict[str, Any] = model.model_dump(mode="json")
    return masked


async def _find(
    session: AsyncSession, *, account_id: uuid.UUID, channel: str, name: str
) -> AccountProvider | None:
    found: AccountProvider | None = await session.scalar(
        select(AccountProvider).where(
            AccountProvider.account_id == account_id,
            AccountProvider.channel == channel,
            AccountProvider.provider == name,
        )
    )
    return found


class ProviderPool:
    """The provider instances one worker sends through, built once and kept (with their
    connection pools and circuit breakers) until their configuration changes."""

    def __init__(
        self,
        *,
        settings: Settings,
        secret: str,
        registry: ProviderRegistry | None = None,
        factory: Callable[[ProviderRegistry, str, str, dict[str, Any]], AnyProvider] | None = None,
    ) -> None:
        self._settings = settings
        self._secret = secret
        self.registry = registry or ProviderRegistry.from_entry_points()
        self._factory = factory or (lambda reg, channel, name, cfg: reg.create(channel, name, cfg))
        self._defaults: dict[str, list[AnyProvider]] | None = None
        self._accounts: dict[uuid.UUID, tuple[datetime, AnyProvider]] = {}

    async def for_channel(
        self, session: AsyncSession, *, account_id: uuid.UUID, channel: str
    ) -> list[AnyProvider]:
        """The providers to try for the account's ``channel``, in priority order."""
        rows = await session.scalars(
            select(AccountProvider)
            .where(
                AccountProvider.account_id == account_id,
                AccountProvider.channel == channel,
                AccountProvider.active,
            )
            .order_by(AccountProvider.priority, AccountProvider.provider)
        )
        own = [await self._of_row(row) for row in rows]
        return own or self._default(channel)

    async def aclose(self) -> None:
        """Close every provider's connections."""
        providers = [p for _, p in self._accounts.values()]
        providers += [p for group in (self._defaults or {}).values() for p in group]
        self._accounts.clear()
        self._defaults = None
        for provider in providers:
            await provider.aclose()

    def _default(self, channel: str) -> list[AnyProvider]:
        if self._defaults is None:
            self._defaults = {
                ch: [self._factory(self.registry, ch, name, cfg) for name, cfg in configs]
                for ch, configs in _default_configs(self._settings).items()
            }
        return self._defaults.get(channel, [])

    async def _of_row(self, row: AccountProvider) -> AnyProvider:
        cached = self._accounts.get(row.id)
        if cached is not None and cached[0] == row.updated_at:
            return cached[1]
        config = orjson.loads(unseal(self._secret, row.settings))
        provider = self._factory(self.registry, row.channel, row.provider, config)
        self._accounts[row.id] = (row.updated_at, provider)
        if cached is not None:
            await cached[1].aclose()
        return provider
