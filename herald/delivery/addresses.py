"""Where a delivery's recipient is reached on its channel, and who the template sees as ``user``."""

from __future__ import annotations

from typing import Any

from herald.delivery.models import Delivery
from herald.directory.models import User

# Where a raw recipient keeps its address, and which directory field holds a user's.
_ADDRESS_FIELDS = {"email": ("email", "email"), "sms": ("phone", "phone")}


def address_of(delivery: Delivery, user: User | None) -> str | None:
    """The recipient's address on the delivery's channel (email, phone), if it has one."""
    fields = _ADDRESS_FIELDS.get(delivery.channel)
    if fields is None:
        return None
    raw, attribute = fields
    given = delivery.recipient.get(raw)
    if isinstance(given, str):
        return given
    value = getattr(user, attribute, None) if user is not None else None
    return value if isinstance(value, str) and value else None


def user_fields(delivery: Delivery, user: User | None) -> dict[str, Any]:
    """What the template sees as ``user.*``; a raw address is a user with only that field."""
    if user is None:
        address = address_of(delivery, None)
        field = _ADDRESS_FIELDS.get(delivery.channel, ("", ""))[1]
        return {field: address} if address and field else {}
    return {
        "external_id": user.external_id,
        "name": user.name,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "phone": user.phone,
        "locale": user.locale,
        "timezone": user.timezone,
    }
