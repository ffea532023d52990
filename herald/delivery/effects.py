"""What recording an answer does besides the status, in the same transaction: a device the
push service calls gone is removed, a webhook endpoint that answered 410 is disabled, the
SMS allowance is committed or released, and the sender hears of a new status."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from herald.bus import Bus
from herald.channels.outcome import Outcome
from herald.db import utcnow
from herald.delivery.answer import Answer
from herald.delivery.callbacks import service as callbacks
from herald.delivery.callbacks.notify_receipt import receipt_for
from herald.delivery.models import Delivery, DeliveryAttempt
from herald.delivery.schemas import delivery_document
from herald.delivery.service import attempts_of
from herald.delivery.status import DeliveryStatus
from herald.directory.models import Device
from herald.endpoints.models import WebhookEndpoint
from herald.sms import allowance


async def after_answer(
    session: AsyncSession, row: Delivery, answer: Answer, *, applied: bool
) -> None:
    """Act on the flags of a provider's answer and settle an SMS delivery's charge."""
    response = answer.provider_response
    if response.get("invalid_token"):
        await remove_device(session, row)
    if response.get("disable_endpoint"):
        await disable_endpoint(session, row)
    if row.channel == "sms" and applied:
        if answer.outcome is Outcome.SENT:
            await allowance.commit(session, delivery_id=row.id)
        else:
            await allowance.settle(session, delivery_id=row.id, status=DeliveryStatus(row.status))


async def remove_device(session: AsyncSession, row: Delivery) -> None:
    """Forget the push device the delivery went to: its service said it is gone for good."""
    token = row.recipient.get("device")
    if isinstance(token, str):
        await session.execute(
            delete(Device).where(Device.account_id == row.account_id, Device.token == token)
        )


async def disable_endpoint(session: AsyncSession, row: Delivery) -> None:
    """Stop sending to the webhook endpoint the delivery went to (it answered 410 Gone)."""
    name = row.recipient.get("webhook")
    if isinstance(name, str):
        await session.execute(
            update(WebhookEndpoint)
            .where(
                WebhookEndpoint.account_id == row.account_id,
                WebhookEndpoint.name == name,
                WebhookEndpoint.disabled_at.is_(None),
            )
            .values(disabled_at=utcnow())
            .execution_options(synchronize_session=False)
        )


async def status_callback(
    session: AsyncSession,
    delivery: Delivery,
    *,
    bus: Bus,
    attempts: list[DeliveryAttempt] | None = None,
) -> None:
    """Queue the ``delivery.<status>`` callback, if the account wants it: the delivery as the
    log shows it, or Notify's receipt for an endpoint in Notify's format."""
    event = f"delivery.{delivery.status}"
    account_id = delivery.account_id
    if not await callbacks.wants(session, account_id=account_id, event=event):
        return
    if await callbacks.format_of(session, account_id=account_id) == callbacks.NOTIFY:
        data = await receipt_for(session, delivery)
    else:
        if attempts is None:
            attempts = (await attempts_of(session, [delivery.id])).get(delivery.id, [])
        data = delivery_document(delivery, attempts, rendered=False)
    await callbacks.enqueue_callback(
        session, account_id=account_id, event=event, data=data, bus=bus
    )
