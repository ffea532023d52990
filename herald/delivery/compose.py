"""From a delivery to what is sent: render its template for the recipient, then build the
channel's message.

Composing happens once, at the first attempt: the result (``rendered``: subject, bodies,
sender and recipients) is stored on the delivery, shown by the delivery log, and every
retry rebuilds the provider's message from it, so that each attempt sends the same thing.
A channel plugs in with a ``ChannelSupport`` in ``CHANNELS`` (see docs/adding-a-channel.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from herald.channels.base import OutboundMessage, PermanentDeliveryError, TemplateUse
from herald.delivery.addresses import address_of, user_fields
from herald.delivery.composers.base import ChannelSupport, Target
from herald.delivery.composers.chat import CHAT_SOURCES, chat_message, compose_chat
from herald.delivery.composers.email import compose_email, email_message
from herald.delivery.composers.letter import compose_letter, letter_message, letter_pdf
from herald.delivery.composers.push import compose_push, push_message, push_providers
from herald.delivery.composers.sms import compose_sms, sms_message
from herald.delivery.composers.webhook import compose_webhook, webhook_message, webhook_secret
from herald.delivery.models import Delivery
from herald.delivery.templating import TemplateCache
from herald.errors import HeraldError
from herald.notifications.models import Notification
from herald.rules.digests import digested


class TemplateDisabled(Exception):
    """The account switched this template off: the delivery is cancelled, not failed."""


CHANNELS: dict[str, ChannelSupport] = {
    "email": ChannelSupport(compose=compose_email, message=email_message),
    "sms": ChannelSupport(compose=compose_sms, message=sms_message),
    "push": ChannelSupport(compose=compose_push, message=push_message, route=push_providers),
    "webhook": ChannelSupport(
        compose=compose_webhook, message=webhook_message, load=webhook_secret, templated=False
    ),
    "letter": ChannelSupport(compose=compose_letter, message=letter_message, load=letter_pdf),
    "chat": ChannelSupport(compose=compose_chat, message=chat_message, sources=CHAT_SOURCES),
}


def is_templated(channel: str) -> bool:
    """Whether a channel's deliveries are rendered from a template (webhooks are not)."""
    support = CHANNELS.get(channel)
    return support is None or support.templated


async def compose(
    session: AsyncSession, target: Target, templates: TemplateCache
) -> dict[str, Any]:
    """Render the delivery's template version for its recipient; its ``rendered`` document.

    The delivery names the template and version rendered, also when rendering fails.
    Raises PermanentDeliveryError when it can never be sent (no template, a missing
    field, no address) and TemplateDisabled when the account switched the template off.
    """
    delivery, notification = target.delivery, target.notification
    support = CHANNELS.get(delivery.channel)
    if support is not None and not support.templated:
        return await support.compose(session, target, {})
    template = await templates.for_delivery(
        session, account=target.account, notification=notification, delivery=delivery
    )
    ref = template.ref
    delivery.template_id, delivery.template_version = ref.template_id, ref.version
    delivery.template_row_id = ref.row_id
    delivery.template_account_id = ref.owner_account_id
    sources = (support.sources if support else ()) or (delivery.channel,)
    try:
        result = await asyncio.to_thread(
            template.render,
            locale=target.user.locale if target.user else None,
            personalisation=await digested(session, delivery, notification.personalisation),
            payload=notification.payload,
            user=user_fields(delivery, target.user),
            channels=set(sources),
            message=notification.message,
        )
    except HeraldError as exc:
        raise PermanentDeliveryError(f"the template cannot be rendered: {exc.message}") from exc
    if not result.enabled:
        raise TemplateDisabled(f"template {template.ref.template_id} is disabled")
    parts = next((result.channels[s] for s in sources if s in result.channels), None)
    if parts is None:
        raise PermanentDeliveryError(
            f"template {template.ref.template_id} has no {delivery.channel} content"
        )
    return await _channel_document(session, target, parts)


async def _channel_document(
    session: AsyncSession, target: Target, parts: Mapping[str, Any]
) -> dict[str, Any]:
    support = CHANNELS.get(target.delivery.channel)
    if support is not None:
        return await support.compose(session, target, parts)
    # No sender for this channel is installed: keep what was rendered (test keys simulate it).
    return {**parts, "to": address_of(target.delivery, target.user)}


def support_for(delivery: Delivery) -> ChannelSupport:
    """The delivery's channel support; permanent failure when none is installed."""
    support = CHANNELS.get(delivery.channel)
    if support is None:
        raise PermanentDeliveryError(f"no way to send {delivery.channel} is installed")
    return support


TEMPLATE_USE = "template"
"""The key of ``loaded`` that holds a ``TemplateUse``, for providers that use templates."""


def message_for(delivery: Delivery, loaded: Mapping[str, Any]) -> OutboundMessage:
    """The provider's message, rebuilt from the delivery's stored ``rendered``."""
    assert delivery.rendered is not None
    message = support_for(delivery).message(delivery, delivery.rendered, loaded)
    use = loaded.get(TEMPLATE_USE)
    return replace(message, template=use) if isinstance(use, TemplateUse) else message


async def template_use(session: AsyncSession, delivery: Delivery) -> TemplateUse:
    """The template and personalisation of the delivery's notification."""
    notification = await session.get(Notification, delivery.notification_id)
    personalisation = dict(notification.personalisation or {}) if notification else {}
    template_id = delivery.template_id or (notification.template if notification else None)
    return TemplateUse(template_id, personalisation)
