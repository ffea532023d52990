"""A development mailbox: ``HERALD_SMTP_URL=log://`` writes each email to the log, sends none.

For the README's tour and for working on templates without a mail server: the message is
logged as ``mail.logged`` with its sender, recipients, subject and text, and the delivery
ends ``delivered`` with the receipt "written to the log".
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from herald.channels.base import DeliveryResult, EmailMessage, Provider
from herald.logs import get_logger

_log = get_logger(__name__)
SCHEME = "log://"


class LogMailSettings(BaseModel):
    """No settings: the log is the mailbox."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LogMailProvider(Provider[EmailMessage, LogMailSettings]):
    """Writes emails to the log instead of sending them."""

    channel: ClassVar[str] = "email"
    name: ClassVar[str] = "log"
    Settings: ClassVar[type[BaseModel]] = LogMailSettings

    async def _send(self, message: EmailMessage) -> DeliveryResult:
        _log.info(
            "mail.logged",
            delivery_id=message.delivery_id,
            mail_from=message.from_,
            to=list(message.to),
            cc=list(message.cc),
            subject=message.subject,
            text=message.text,
        )
        return DeliveryResult(receipt="written to the log")
