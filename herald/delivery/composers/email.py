"""The email channel's composition: sender and recipients from the template, and the message.

``to``, ``cc`` and ``bcc`` each have a type (seed 002): ``original`` is the delivery's
recipient, ``specified`` the listed addresses, ``admins`` the emails of the account's
admin users. ``to`` defaults to ``original``; ``from`` defaults to ``HERALD_EMAIL_FROM``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.channels.base import EmailMessage, PermanentDeliveryError
from herald.delivery.addresses import address_of
from herald.delivery.composers.base import Target
from herald.delivery.models import Delivery
from herald.directory.models import User
from herald.rules.unsubscribe import Unsubscribe, make_token, unsubscribe_url

_ORIGINAL = {"type": "original"}


async def compose_email(
    session: AsyncSession, target: Target, parts: Mapping[str, Any]
) -> dict[str, Any]:
    """The email's log document: rendered parts and the resolved sender and recipients."""
    address = address_of(target.delivery, target.user)
    if address is None:
        raise PermanentDeliveryError("the recipient has no email address")
    if not parts.get("html") and not parts.get("text"):
        raise PermanentDeliveryError("the template has no email body (text/html or text/plain)")
    admins = _Admins(session, target.delivery)
    to = await _addresses(parts.get("to") or _ORIGINAL, address, admins)
    if not to:
        raise PermanentDeliveryError("the template's To resolves to no address")
    options = target.notification.options or {}
    reply_to = options.get("reply_to") or parts.get("reply_to")
    document: dict[str, Any] = {
        "subject": parts.get("subject") or "",
        "text/html": parts.get("html"),
        "text/plain": parts.get("text") or "",
        "emails": {
            "from": parts.get("from") or target.settings.email_from,
            "reply_to": [reply_to] if reply_to else [],
            "to": to,
            "cc": await _addresses(parts.get("cc"), address, admins),
            "bcc": await _addresses(parts.get("bcc"), address, admins),
        },
    }
    unsubscribe = options.get("unsubscribe_url") or _own_unsubscribe_url(target)
    if unsubscribe:
        document["headers"] = one_click_unsubscribe(str(unsubscribe))
    if parts.get("body") is not None:  # a Notify-formatted email's text, values filled in
        document["body"] = parts["body"]
    return document


def _own_unsubscribe_url(target: Target) -> str | None:
    """Herald's own one-click link for a directory user's email that is not mandatory (the
    category's email off for that user); None for raw addresses and mandatory mail."""
    delivery = target.delivery
    if delivery.mandatory or delivery.user_id is None or not delivery.category:
        return None
    wanted = Unsubscribe(delivery.account_id, delivery.user_id, delivery.category)
    token = make_token(target.secret, wanted)
    return unsubscribe_url(target.settings.public_url, token)


def one_click_unsubscribe(url: str) -> dict[str, str]:
    """RFC 8058: the URL a mail client POSTs ``List-Unsubscribe=One-Click`` to."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def email_message(
    delivery: Delivery, rendered: Mapping[str, Any], _loaded: Mapping[str, Any]
) -> EmailMessage:
    """The message every attempt sends, from the stored log document."""
    emails = rendered["emails"]
    return EmailMessage(
        delivery_id=str(delivery.id),
        recipient=emails["to"][0],
        from_=emails["from"],
        subject=rendered["subject"],
        text=rendered["text/plain"],
        html=rendered["text/html"],
        reply_to=tuple(emails["reply_to"]),
        to=tuple(emails["to"]),
        cc=tuple(emails["cc"]),
        bcc=tuple(emails["bcc"]),
        headers=rendered.get("headers") or {},
    )


class _Admins:
    """The account's admin users' emails, read at most once per delivery."""

    def __init__(self, session: AsyncSession, delivery: Delivery) -> None:
        self._session = session
        self._account_id = delivery.account_id
        self._emails: list[str] | None = None

    async def emails(self) -> list[str]:
        if self._emails is None:
            rows = await self._session.scalars(
                select(User.email)
                .where(User.account_id == self._account_id, User.admin, User.email.is_not(None))
                .order_by(User.external_id)
            )
            self._emails = [email for email in rows if email]
        return self._emails


async def _addresses(spec: Mapping[str, Any] | None, address: str, admins: _Admins) -> list[str]:
    """One of ``to``/``cc``/``bcc`` resolved to addresses (none when the template has none)."""
    if not spec:
        return []
    kind = spec.get("type") or ""
    if kind == "original":
        return [address]
    if kind == "specified":
        return [str(a) for a in spec.get("email_addresses") or []]
    if kind == "admins":
        return await admins.emails()
    return []
