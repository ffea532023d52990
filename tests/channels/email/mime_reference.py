"""The message as ``email.message`` built it before Herald wrote the bytes itself: the
reference that ``herald.channels.email.mime`` is compared with, parsed back."""

from __future__ import annotations

import email.message
import email.policy
from datetime import datetime
from email.utils import format_datetime

from herald.channels.base import EmailMessage, PermanentDeliveryError
from herald.channels.email.mime import DELIVERY_ID_HEADER, message_id_for

_POLICY = email.policy.SMTP.clone(cte_type="7bit")
_RESERVED = frozenset(
    name.lower()
    for name in (
        "From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date", "Message-ID", "MIME-Version",
        "Content-Type", "Content-Transfer-Encoding", DELIVERY_ID_HEADER,
    )
)  # fmt: skip


def reference_bytes(message: EmailMessage, *, now: datetime) -> bytes:
    """The bytes the email package wrote for ``message``."""
    mime = email.message.EmailMessage(policy=_POLICY)
    try:
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
                raise PermanentDeliveryError(f"header {name} is set by Herald")
            mime[name] = value
        mime.set_content(message.text)
        if message.html is not None:
            mime.add_alternative(message.html, subtype="html")
        return mime.as_bytes()
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        # ValueError was refused as permanent; the parser's own crashes on malformed values
        # (AttributeError on a display name of ".") failed the attempt the same way each time.
        raise PermanentDeliveryError(f"the message cannot be encoded: {exc!r}") from exc
