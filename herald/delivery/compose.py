"""From a delivery to what is sent: render its template for the recipient, then build the
channel's message.

Composing happens once, at the first attempt: the result (``rendered``: subject, bodies,
sender and recipients) is stored on the delivery, shown by the delivery log, and every
retry rebuilds the provider's message from it, so that each attempt sends the same thing.
A channel plugs in with a ``ChannelSupport`` in ``CHANNELS`` (see docs/adding-a-channel.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account
from herald.channels.base import OutboundMessage, PermanentDeliveryError
from herald.config import Settings
from herald.delivery.addresses import address_of, user_fields
from herald.delivery.email import compose_email, email_message
from herald.delivery.models import Delivery
from herald.delivery.templating import TemplateCache
from herald.directory.models import User
from herald.errors import HeraldError
from herald.notifications.models import Notification


class TemplateDisabled(Exception):
    """The account switched this template off: the delivery is cancelled, not failed."""


@dataclass(frozen=True)
class Target:
    """Everything composing one delivery needs, loaded once."""

    delivery: Delivery
    notification: Notification
    account: Account
    user: User | None
    settings: Settings


@dataclass(frozen=True)
class Composed:
    """What a delivery sends, as its log shows it, and the template version it came from."""

    rendered: dict[str, Any]
    template_id: str
    template_version: int


Composer = Callable[[AsyncSession, Target, Mapping[str, Any]], Awaitable[dict[str, Any]]]
"""(session, target, the template's rendered parts) → the log's ``rendered`` document."""
MessageBuilder = Callable[[Delivery, Mapping[str, Any]], OutboundMessage]
"""(delivery, its stored ``rendered``) → the provider's message."""


@dataclass(frozen=True)
class ChannelSupport:
    """How one channel composes a delivery and rebuilds its message for each attempt."""

    compose: Composer
    message: MessageBuilder


CHANNELS: dict[str, ChannelSupport] = {
    "email": ChannelSupport(compose=compose_email, message=email_message),
}


async def compose(session: AsyncSession, target: Target, templates: TemplateCache) -> Composed:
    """Render the delivery's template for its recipient and build its ``rendered`` document.

    Raises PermanentDeliveryError when it can never be sent (no template, a missing
    field, no address) and TemplateDisabled when the account switched the template off.
    """
    delivery, notification = target.delivery, target.notification
    template = await templates.for_notification(
        session, account=target.account, notification=notification
    )
    try:
        result = await asyncio.to_thread(
            template.render,
            locale=target.user.locale if target.user else None,
            personalisation=notification.personalisation,
            payload=notification.payload,
            user=user_fields(delivery, target.user),
            channels={delivery.channel},
            message=notification.message,
        )
    except HeraldError as exc:
        raise PermanentDeliveryError(f"the template cannot be rendered: {exc.message}") from exc
    if not result.enabled:
        raise TemplateDisabled(f"template {template.ref.template_id} is disabled")
    parts = result.channels.get(delivery.channel)
    if parts is None:
        raise PermanentDeliveryError(
            f"template {template.ref.template_id} has no {delivery.channel} content"
        )
    rendered = await _channel_document(session, target, parts)
    return Composed(rendered, template.ref.template_id, template.ref.version)


async def _channel_document(
    session: AsyncSession, target: Target, parts: Mapping[str, Any]
) -> dict[str, Any]:
    support = CHANNELS.get(target.delivery.channel)
    if support is not None:
        return await support.compose(session, target, parts)
    # No sender for this channel is installed: keep what was rendered (test keys simulate it).
    return {**parts, "to": address_of(target.delivery, target.user)}


def message_for(delivery: Delivery) -> OutboundMessage:
    """The provider's message, rebuilt from the delivery's stored ``rendered``."""
    support = CHANNELS.get(delivery.channel)
    if support is None:
        raise PermanentDeliveryError(f"no way to send {delivery.channel} is installed")
    assert delivery.rendered is not None
    return support.message(delivery, delivery.rendered)
