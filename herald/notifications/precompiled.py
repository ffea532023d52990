"""A letter whose PDF the sender made (GOV.UK Notify's precompiled letters): kept in the
document store at accept and printed as it is, one notification and one composed delivery.

The PDF must be one (``%PDF-`` header and a page tree) of at most ``MAX_PAGES`` pages; the
address is printed from the PDF itself, so the delivery's address says so.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.auth import Principal
from herald.bus import Bus
from herald.channels.letter.messages import page_count
from herald.config import Settings
from herald.db import new_id, utcnow
from herald.delivery.composers.letter import documents
from herald.delivery.models import Delivery
from herald.delivery.queue import wake_workers
from herald.delivery.status import DeliveryStatus
from herald.errors import BadRequest
from herald.notifications.charging import charge, refuse_over_cap
from herald.notifications.models import Notification
from herald.notifications.service import Accepted
from herald.rules import decide as rules
from herald.throttling.service import Throttle

MAX_PAGES = 10
"""As many pages as GOV.UK Notify prints in one letter."""
ADDRESS = "Provided as PDF"


class NotAPdf(BadRequest):
    """The letter's content is not a PDF (or an empty one)."""

    code = "not_a_pdf"


class TooManyPages(BadRequest):
    """The PDF has more pages than a letter may have."""

    code = "too_many_pages"


@dataclass(frozen=True)
class PrecompiledLetter:
    """A sender's PDF and how it is posted."""

    pdf: bytes
    reference: str | None
    postage: str


def check_pdf(pdf: bytes) -> int:
    """The PDF's pages; 400 when it is no PDF or has more pages than a letter may."""
    if not pdf.startswith(b"%PDF-"):
        raise NotAPdf("Letter content is not a valid PDF")
    try:
        pages = page_count(pdf)
    except ValueError as exc:
        raise NotAPdf("Letter content is not a valid PDF") from exc
    if pages < 1:
        raise NotAPdf("Letter content is not a valid PDF")
    if pages > MAX_PAGES:
        raise TooManyPages(f"Letters must be {MAX_PAGES} pages or less ({pages} pages)")
    return pages


async def accept_precompiled(
    session: AsyncSession,
    *,
    principal: Principal,
    letter: PrecompiledLetter,
    settings: Settings,
    throttle: Throttle,
    bus: Bus,
) -> Accepted:
    """Check and store the PDF, then write the notification and its delivery, composed."""
    pages = check_pdf(letter.pdf)
    await refuse_over_cap(session, throttle, principal, 1)
    document_id = await documents(settings).put(letter.pdf)
    now = utcnow()
    notification = Notification(
        id=new_id(), account_id=principal.account_id, key_id=principal.key_id,
        test=principal.test, type="notify", sub_type="letter", products=[],
        targets={"addresses": [{"lines": [ADDRESS], "postcode": ""}]}, channels=["letter"],
        payload={}, message=None, correlation_id=None, require_action=False, actions=[],
        template=None, personalisation={}, recipients=1, reference=letter.reference,
        options={"postage": letter.postage, "precompiled": True}, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(notification)
    await session.flush()
    rendered = {
        "to": ADDRESS, "address_lines": [ADDRESS], "postcode": "", "html": "",
        "document_id": document_id, "pages": pages,
        "sha256": hashlib.sha256(letter.pdf).hexdigest(), "precompiled": True,
    }  # fmt: skip
    row = {
        "id": new_id(), "account_id": principal.account_id, "notification_id": notification.id,
        "channel": "letter", "user_id": None,
        "recipient": {"address": {"lines": [ADDRESS], "postcode": ""}}, "test": principal.test,
        "status": DeliveryStatus.CREATED.value, "due_at": now, "attempts": 0,
        "rendered": rendered, "document_id": document_id, "created_at": now, "updated_at": now,
    }  # fmt: skip
    # The same rules as every send; the address is in the PDF, nobody's, so only the category
    # is recorded (a letter has no preferences, caps or quiet hours to apply).
    await rules.decide(
        session, [row], rules.facts_of(type_="notify", type_rules=None, template_body=None), now=now
    )
    session.add(Delivery(**row))
    await session.flush()
    await charge(session, throttle, principal, 1)  # the transaction's last write (charging.py)
    wake_workers(session, bus)
    return Accepted(notification.id, 1)
