"""The SMS channel's composition: the number (E.164), the body, the sender, its segments.

The segments are charged against the account's allowance when the body is first known:
here, at the first attempt, for notifications rendered from a template; at accept for
direct messages (``herald.sms.service``), whose deliveries arrive already composed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from herald.channels.base import PermanentDeliveryError
from herald.channels.sms.messages import SmsMessage
from herald.channels.sms.segments import count_segments
from herald.delivery.addresses import address_of
from herald.delivery.composers.base import Target
from herald.delivery.models import Delivery
from herald.directory.contact import normalize_phone
from herald.errors import HeraldError
from herald.sms import allowance
from herald.sms.senders import check_sender, is_number


def sms_document(
    *,
    to: str,
    body: str,
    sender: str | None,
    endpoint: str | None = None,
    hidden: bool = False,
    employee: str | None = None,
) -> dict[str, Any]:
    """The stored ``rendered`` of an SMS, as the delivery log and ``GET /v1/messages`` show it;
    a direct SMS sent for a user (seed 004's employee) names them in ``employee``."""
    count = count_segments(body)
    document: dict[str, Any] = {
        "to": to,
        "body": body,
        "sender": sender,
        "endpoint": endpoint,
        "from_number_hidden": hidden,
        "segments": count.segments,
        "encoding": count.encoding,
    }
    if employee is not None:
        document["employee"] = employee
    return document


async def compose_sms(
    session: AsyncSession, target: Target, parts: Mapping[str, Any]
) -> dict[str, Any]:
    """The number, body and sender from the template; the segments reserved."""
    delivery = target.delivery
    number = _number(address_of(delivery, target.user))
    sender = (target.notification.options or {}).get("sms_sender") or parts.get("sender") or None
    try:
        if sender and not is_number(sender):
            await check_sender(session, account_id=delivery.account_id, name=sender)
        document = sms_document(to=number, body=parts.get("body") or "", sender=sender)
        if not delivery.test:
            charge = [(delivery.id, document["segments"])]
            await allowance.reserve(session, account_id=delivery.account_id, charges=charge)
    except HeraldError as exc:  # an unapproved sender, an allowance used up (overuse_full)
        raise PermanentDeliveryError(f"{exc.code}: {exc.message}") from exc
    return document


def sms_message(
    delivery: Delivery, rendered: Mapping[str, Any], _loaded: Mapping[str, Any]
) -> SmsMessage:
    """The text every attempt sends, from the stored document."""
    return SmsMessage(
        delivery_id=str(delivery.id),
        recipient=rendered["to"],
        body=rendered["body"],
        sender=rendered.get("sender"),
    )


def _number(address: str | None) -> str:
    if address is None:
        raise PermanentDeliveryError("the recipient has no phone number")
    try:
        return normalize_phone(address)
    except ValueError as exc:
        raise PermanentDeliveryError(str(exc)) from exc
