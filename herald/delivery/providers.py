"""Providers per account (``/v1/providers``) and the ones a worker sends through.

An account's providers are validated against the provider's own pydantic ``Settings``
model, stored sealed, and answered with every secret masked. A worker sends a channel's
messages through the account's active providers in priority order (failover, each with
its circuit breaker); an account with none uses the process-wide default from settings
(``HERALD_SMTP_URL`` for email) — an account's own providers replace it rather than add
to it, so mail never leaves through the operator's relay once a tenant brought its own.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.channels.base import Provider
from herald.channels.email.log import SCHEME as LOG_SCHEME
from herald.channels.registry import ProviderRegistry, UnknownProvider
from herald.config import Settings
from herald.db import utcnow
from herald.delivery.models import AccountProvider, Delivery
from herald.delivery.sealing import seal, unseal
from herald.errors import ErrorDetail, NotFound, ValidationFailed, json_pointer

AnyProvider = Provider[Any, Any]


def _default_configs(settings: Settings) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """The process-wide providers settings configure, by channel: (provider name, settings)."""
    url = settings.smtp_url.get_secret_value() if settings.smtp_url else None
    email: list[tuple[str, dict[str, Any]]] = []
    if url is not None:
        email = [("log", {})] if url.startswith(LOG_SCHEME) else [("smtp", {"url": url})]
    # Webhooks need no account of a provider: endpoints and secrets come with each message.
    return {"email": email, "webhook": [("standard", {})]}


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


@dataclass(frozen=True)
class OwnProvider:
    """A provider one notification chose, checked for each of its channels and sealed."""

    sealed: str
    remote_template: bool
    """Its provider sends the notification's template itself (a Notify template id that the
    settings map): Herald renders no template of its own for it."""


def own_provider(
    registry: ProviderRegistry,
    *,
    name: str,
    config: Mapping[str, Any],
    channels: list[str],
    template_id: str | None,
    secret: str,
) -> OwnProvider:
    """``config`` checked by the provider of each external channel; 422 at ``/provider``."""
    remote = bool(template_id)
    for channel in channels:
        try:
            cls = registry.get(channel, name)
        except UnknownProvider:
            raise ValidationFailed.at(
                "/provider/name", f"No provider {channel}/{name} is installed"
            ) from None
        try:
            checked = cls.Settings.model_validate(config)
        except ValidationError as exc:
            details = [
                ErrorDetail(json_pointer(("provider", "settings", *e["loc"])), e["msg"])
                for e in exc.errors()
            ]
            raise ValidationFailed("The provider's settings are invalid", details=details) from None
        templates = getattr(checked, "templates", None)
        remote = remote and cls.uses_templates and template_id in (templates or {})
    document = {"name": name, "settings": dict(config)}
    return OwnProvider(seal(secret, orjson.dumps(document).decode()), remote)


def build(
    registry: ProviderRegistry,
    channel: str,
    name: str,
    config: Mapping[str, Any],
    options: Mapping[str, Any],
) -> AnyProvider:
    """A provider from its settings, given each of ``options`` its constructor takes.

    Options are the operator's and the worker's (``allow_private``, ``on_receipt``,
    ``receipt_url``), never a tenant's: a provider that has no use for one is not given it.
    """
    cls = registry.get(channel, name)
    accepted = inspect.signature(cls.__init__).parameters
    return cls(
        cls.Settings.model_validate(config),
        **{key: value for key, value in options.items() if key in accepted},
    )


def receipt_token(secret: str, provider_id: uuid.UUID) -> str:
    """The unguessable token in an account provider's receipt URL (an HMAC of its id)."""
    digest = hmac.new(secret.encode(), b"sms-receipts:" + provider_id.bytes, hashlib.sha256)
    return digest.hexdigest()[:40]


def receipt_url(settings: Settings, secret: str, provider_id: uuid.UUID) -> str:
    """Where an account's HTTP SMS provider posts delivery receipts."""
    token = receipt_token(secret, provider_id)
    return f"{settings.public_url.rstrip('/')}/v1/receipts/sms/{provider_id}/{token}"


class ProviderPool:
    """The provider instances one worker sends through, built once and kept (with their
    connection pools and circuit breakers) until their configuration changes."""

    def __init__(
        self,
        *,
        settings: Settings,
        secret: str,
        registry: ProviderRegistry | None = None,
        options: Mapping[str, Any] | None = None,
        receipts: Callable[[uuid.UUID | None], Any] | None = None,
        inbound: Callable[[uuid.UUID | None], Any] | None = None,
    ) -> None:
        """``options`` go to every provider constructor that takes them (see ``build``);
        ``receipts(account_id)`` is the ``on_receipt`` of that account's providers and
        ``inbound(account_id)`` their ``on_inbound`` (messages people send to them)."""
        self._settings = settings
        self._receipts = receipts
        self._inbound = inbound
        self._secret = secret
        self.registry = registry or ProviderRegistry.from_entry_points()
        self._options = {"allow_private": settings.allow_private_urls, **(options or {})}
        self._defaults: dict[str, list[AnyProvider]] | None = None
        self._accounts: dict[uuid.UUID, tuple[datetime, AnyProvider]] = {}
        # Providers notifications chose, by account, channel and settings (one per Notify key).
        self._chosen: dict[str, AnyProvider] = {}

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

    def chosen(self, delivery: Delivery) -> AnyProvider:
        """The provider the delivery's notification chose (``own_provider``), built once."""
        plain = unseal(self._secret, delivery.own_provider or "")
        # Each seal differs (a random IV): the same settings are known by their digest.
        key = (
            f"{delivery.account_id}:{delivery.channel}:{hashlib.sha256(plain.encode()).hexdigest()}"
        )
        found = self._chosen.get(key)
        if found is None:
            document = orjson.loads(plain)
            options = self._for(delivery.account_id)
            found = build(
                self.registry, delivery.channel, document["name"], document["settings"], options
            )
            self._chosen[key] = found
        return found

    async def aclose(self) -> None:
        """Close every provider's connections."""
        providers = [p for _, p in self._accounts.values()]
        providers += list(self._chosen.values())
        self._chosen.clear()
        providers += [p for group in (self._defaults or {}).values() for p in group]
        self._accounts.clear()
        self._defaults = None
        for provider in providers:
            await provider.aclose()

    def _for(self, account_id: uuid.UUID | None) -> dict[str, Any]:
        """The options of one account's providers (None: the process-wide defaults)."""
        options = dict(self._options)
        if self._receipts is not None:
            options["on_receipt"] = self._receipts(account_id)
        if self._inbound is not None:
            options["on_inbound"] = self._inbound(account_id)
        return options

    def _default(self, channel: str) -> list[AnyProvider]:
        if self._defaults is None:
            self._defaults = {
                ch: [build(self.registry, ch, name, cfg, self._for(None)) for name, cfg in configs]
                for ch, configs in _default_configs(self._settings).items()
            }
        return self._defaults.get(channel, [])

    async def _of_row(self, row: AccountProvider) -> AnyProvider:
        cached = self._accounts.get(row.id)
        if cached is not None and cached[0] == row.updated_at:
            return cached[1]
        config = orjson.loads(unseal(self._secret, row.settings))
        url = receipt_url(self._settings, self._secret, row.id)
        options = {**self._for(row.account_id), "receipt_url": url}
        provider = build(self.registry, row.channel, row.provider, config, options)
        self._accounts[row.id] = (row.updated_at, provider)
        if cached is not None:
            await cached[1].aclose()
        return provider


async def channels_without_provider(
    session: AsyncSession, *, settings: Settings, channels: set[str]
) -> list[str]:
    """The installed channels that nothing can send on: no process default, no account's.

    Their deliveries would retry and fail for days, so ``serve``, ``api`` and ``worker``
    name each one in a warning at start.
    """
    covered = {channel for channel, configs in _default_configs(settings).items() if configs}
    rows = await session.scalars(
        select(AccountProvider.channel).where(AccountProvider.active.is_(True)).distinct()
    )
    return sorted(channels - covered - set(rows))
