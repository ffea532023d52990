"""Turn a rendered ``EmailMessage`` into MIME and an SMTP envelope (shared by email providers)."""

from __future__ import annotations

import email.message
import email.policy
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parseaddr

from herald.channels.base import EmailMessage, PermanentDeliveryError

DELIVERY_ID_HEADER = "X-Herald-Delivery-Id"

# 7-bit transfer encodings, so the message goes through servers without 8BITMIME.
_POLICY = email.policy.SMTP.clone(cte_type="7bit")

_RESERVED = frozenset(
    h.lower()
    for h in (
        "From",
        "To",
        "Cc",
        "Bcc",
        "Reply-To",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        DELIVERY_ID_HEADER,
    )
)


@dataclass(frozen=True)
class Envelope:
    """Who the SMTP transaction is from and to; ``primary`` are the ``To`` addresses."""

    sender: str
    recipients: tuple[str, ...]
    primary: tuple[str, ...]


def envelope_of(message: EmailMessage) -> Envelope:
    """The envelope: every To, Cc and Bcc address once, in order (Bcc lives only here)."""
    primary = _addresses(message.to)
    everyone = _addresses((*message.to, *message.cc, *message.bcc))
    return Envelope(sender=parseaddr(message.from_)[1], recipients=everyone, primary=primary)


def message_id_for(message: EmailMessage) -> str:
    """``<delivery id@sender's domain>``, the same on every attempt of one delivery.

    A stable id lets receivers that collapse copies by Message-ID drop a duplicate sent
    after a connection was lost at the end of the data.
    """
    domain = parseaddr(message.from_)[1].rpartition("@")[2] or "herald.invalid"
    return f"<{message.delivery_id}@{domain}>"


def build_mime(message: EmailMessage, *, now: datetime | None = None) -> email.message.EmailMessage:
    """A multipart/alternative (text, then HTML) message, or plain text when there is no HTML."""
    mime = email.message.EmailMessage(policy=_POLICY)
    try:
        _set_headers(mime, message, now or datetime.now(UTC))
        mime.set_content(message.text)
        if message.html is not None:
            mime.add_alternative(message.html, subtype="html")
    except ValueError as exc:
        # A header with a line break or similar: the same message would fail every time.
        raise PermanentDeliveryError(f"the message cannot be encoded: {exc}") from exc
    return mime


def _set_headers(mime: email.message.EmailMessage, message: EmailMessage, now: datetime) -> None:
    """Herald's headers first, then the template's own, which may not replace Herald's."""
    mime["From"] = message.from_
    mime["To"] = ", ".join(message.to)
    if message.cc:
        mime["Cc"] = ", ".join(message.cc)
    if message.reply_to:
        mime["Reply-To"] = ", ".join(message.reply_to)
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(now)
    mime["Message-ID"] = message_id_for(message)
    mime[DELIVERY_ID_HEADER] = message.delivery_id
    for name, value in message.headers.items():
        if name.lower() in _RESERVED:
            raise PermanentDeliveryError(f"header {name} is set by Herald, not by the template")
        mime[name] = value


def _addresses(values: tuple[str, ...]) -> tuple[str, ...]:
    """Bare addresses from header-style values ("Ann <ann@x.org>"), without repeats."""
    return tuple(dict.fromkeys(parseaddr(value)[1] for value in values))
