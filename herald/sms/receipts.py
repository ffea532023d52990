"""Delivery receipts: what became of a sent SMS, applied to its delivery.

A provider that reports receipts leaves its deliveries ``sending`` once it took them
(``Outcome.SENT``); the receipt ends them through the state machine: ``delivered``, or
the failure it names (a permanent one gives the segments back to the allowance). A
receipt that is not final (queued, en route) only updates the delivery's ``receipt``.

SMPP receipts come on the provider's session, often before the worker has recorded
the answer that names the message id: ``SmppReceipts`` looks again for a few seconds,
then refuses the receipt, and the SMSC delivers it again later. HTTP receipts come to
``POST /v1/receipts/sms/{provider_id}/{token}``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.bus import Bus
from herald.channels.outcome import Outcome
from herald.channels.sms.messages import SmsReceipt
from herald.db import utcnow
from herald.delivery.effects import status_callback
from herald.delivery.gate import Gate
from herald.delivery.models import Delivery
from herald.delivery.status import DeliveryStatus, transition
from herald.logs import get_logger
from herald.notifications import progress
from herald.sms import allowance

log = get_logger(__name__)
# Seconds between looks for the delivery a receipt names (about 3 s in all).
WAITS = (0.0, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6)
ReceiptHandler = Callable[[SmsReceipt], Awaitable[None]]


class ReceiptUnmatched(LookupError):
    """No SMS delivery sent through this provider has the receipt's message id."""


async def apply_receipt(
    session: AsyncSession,
    *,
    account_id: uuid.UUID | None,
    provider: str,
    receipt: SmsReceipt,
    bus: Bus,
    channels: tuple[str, ...] = ("sms",),
) -> bool:
    """Apply ``receipt`` to the delivery it names; False when none has that message id.

    ``account_id`` None (a process-wide provider) matches any account's delivery; a
    provider of several channels (GOV.UK Notify) names them in ``channels``.
    """
    query = select(Delivery).where(
        Delivery.channel.in_(channels),
        Delivery.provider == provider,
        Delivery.provider_message_id == receipt.provider_message_id,
    )
    if account_id is not None:
        query = query.where(Delivery.account_id == account_id)
    row = await session.scalar(query.order_by(Delivery.sent_at.desc()).limit(1).with_for_update())
    if row is None:
        return False
    # Receipts often say "err:000" even when delivered: an error code only tells of a failure.
    failed = receipt.error_code and receipt.outcome not in (None, Outcome.DELIVERED)
    row.receipt = receipt.status + (f" (error {receipt.error_code})" if failed else "")
    if receipt.outcome is None:
        return True
    decision = transition(DeliveryStatus(row.status), receipt.outcome, retry_at=None)
    if decision.ignored:
        return True
    row.status = decision.status.value
    row.completed_at = utcnow()
    row.leased_until = row.leased_by = None
    await allowance.settle(session, delivery_id=row.id, status=decision.status)
    await session.flush()
    await progress.settle(session, [row.notification_id])
    await status_callback(session, row, bus=bus)
    return True


class SmppReceipts:
    """Records the receipts that arrive on SMPP sessions, one handler per account."""

    def __init__(self, gate: Gate, bus: Bus) -> None:
        self._gate = gate
        self._bus = bus

    def handler(self, account_id: uuid.UUID | None) -> ReceiptHandler:
        """The ``on_receipt`` of an SMPP provider of this account (None: the process's)."""

        async def record(receipt: SmsReceipt) -> None:
            await self.record(receipt, account_id=account_id)

        return record

    async def record(self, receipt: SmsReceipt, *, account_id: uuid.UUID | None) -> None:
        """Apply the receipt once its delivery is found; ``ReceiptUnmatched`` after a while."""
        for wait in WAITS:
            await asyncio.sleep(wait)
            async with self._gate.transaction() as session:
                found = await apply_receipt(
                    session, account_id=account_id, provider="smpp", receipt=receipt, bus=self._bus
                )
            if found:
                return
        log.warning("sms.receipt_unmatched", provider_message_id=receipt.provider_message_id)
        raise ReceiptUnmatched(receipt.provider_message_id)
