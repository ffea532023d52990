"""``POST /v2/notifications/{email,sms,letter}`` translated into the services every send uses:
Notify's checks in Notify's order (the template, the key's type, the reply-to or sender),
the content rendered for the answer, then one notification to one recipient accepted.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account
from herald.compat.notify import errors, requests
from herald.compat.notify.auth import NotifyCaller
from herald.compat.notify.shapes import content_of
from herald.compat.notify.templates import NotifyTemplate, for_sending, render
from herald.directory.service import reaches_team
from herald.events.schemas import FEWEST_ADDRESS_LINES, Address, Envelope, Targets
from herald.notifications import service as notifications
from herald.notifications.precompiled import PrecompiledLetter, accept_precompiled
from herald.replyto import service as reply_to
from herald.runtime import Runtime
from herald.sms.models import SmsSender
from herald.sms.senders import SenderStatus
from herald.templates.service import load_account

# Notify writes it with a typographic apostrophe (app/notifications/validators.py).
TEAM_ONLY = "Can\u2019t send to this recipient using a team-only API key"
TEAM_LETTERS = "Cannot send letters with a team api key"
ADDRESS_LINES = tuple(f"address_line_{n}" for n in range(1, 8))
# Notify's rule: three to seven lines in all, the last the postcode (or a country).
NOTIFY_FEWEST_LINES, NOTIFY_MOST_LINES = 3, 7


@dataclass(frozen=True)
class Sent:
    """What the answer of a send is made of."""

    id: uuid.UUID
    template: NotifyTemplate
    content: dict[str, Any]
    extra: dict[str, Any]


async def _template(
    session: AsyncSession, caller: NotifyCaller, form: Mapping[str, Any], kind: str
) -> tuple[Account, NotifyTemplate]:
    account = await load_account(session, account_id=caller.service_id)
    template = await for_sending(
        session, account=account, template_id=form["template_id"], notification_type=kind
    )
    return account, template


async def _team_check(
    session: AsyncSession, caller: NotifyCaller, *, email: str | None = None,
    phone: str | None = None,
) -> None:  # fmt: skip
    """A team key sends only to the account's own users' addresses and numbers."""
    if caller.key_type != "team":
        return
    if not await reaches_team(session, account_id=caller.service_id, email=email, phone=phone):
        raise errors.bad_request(TEAM_ONLY)


async def _reply_to(session: AsyncSession, caller: NotifyCaller, given: str | None) -> str | None:
    if given is None:
        return None
    found = await reply_to.find(session, account_id=caller.service_id, reply_to_id=uuid.UUID(given))
    if found is None:
        raise errors.bad_request(
            f"email_reply_to_id {given} does not exist in database for service id "
            f"{caller.service_id}"
        )
    return found.email_address


async def _sms_sender(session: AsyncSession, caller: NotifyCaller, given: str | None) -> str | None:
    if given is None:
        return None
    sender = await session.scalar(
        select(SmsSender).where(
            SmsSender.id == uuid.UUID(given), SmsSender.account_id == caller.service_id
        )
    )
    if sender is None:
        raise errors.bad_request(
            f"sms_sender_id {given} does not exist in database for service id {caller.service_id}"
        )
    if sender.status != SenderStatus.APPROVED:
        raise errors.bad_request(f"The sender name {sender.name!r} is not approved")
    return sender.name


async def _accept(
    session: AsyncSession,
    runtime: Runtime,
    caller: NotifyCaller,
    *,
    kind: str,
    targets: Targets,
    form: Mapping[str, Any],
    options: dict[str, Any],
) -> uuid.UUID:
    envelope = Envelope(
        type="notify",
        subType=kind,
        targets=targets,
        channels=[kind],
        template=form["template_id"],
        personalisation=form.get("personalisation") or {},
    )
    sending = notifications.Sending(
        reference=form.get("reference"), options={k: v for k, v in options.items() if v}
    )
    accepted = await notifications.accept(
        session, principal=caller.principal, envelope=envelope, throttle=runtime.throttle,
        bus=runtime.bus, sending=sending,
    )  # fmt: skip
    return accepted.id


async def send_email(
    session: AsyncSession, runtime: Runtime, caller: NotifyCaller, body: Any
) -> Sent:
    """An email to one address."""
    form = requests.validate(body, requests.EMAIL)
    account, template = await _template(session, caller, form, "email")
    address = requests.email_address(form["email_address"])
    await _team_check(session, caller, email=address)
    reply = await _reply_to(session, caller, form.get("email_reply_to_id"))
    sanitise = form.get("sanitise_content_for") or []
    rendered = await render(
        session, account=account, template=template,
        personalisation=form.get("personalisation") or {}, user={"email": address},
        sanitise=sanitise,
    )  # fmt: skip
    unsubscribe = form.get("one_click_unsubscribe_url")
    options = {"reply_to": reply, "unsubscribe_url": unsubscribe, "sanitise": sanitise}
    notification_id = await _accept(
        session, runtime, caller, kind="email", targets=Targets(emails=[address]), form=form,
        options=options,
    )  # fmt: skip
    part = rendered.channels.get("email", {})
    content = {
        **content_of("email", part),
        "from_email": parseaddr(part.get("from") or runtime.settings.email_from)[1],
        "one_click_unsubscribe_url": unsubscribe,
    }
    return Sent(notification_id, template, content, {})


async def send_sms(
    session: AsyncSession, runtime: Runtime, caller: NotifyCaller, body: Any
) -> Sent:
    """A text message to one number."""
    form = requests.validate(body, requests.SMS)
    account, template = await _template(session, caller, form, "sms")
    number = requests.phone_number(form["phone_number"])
    await _team_check(session, caller, phone=number)
    sender = await _sms_sender(session, caller, form.get("sms_sender_id"))
    rendered = await render(
        session, account=account, template=template,
        personalisation=form.get("personalisation") or {}, user={"phone": number},
    )  # fmt: skip
    notification_id = await _accept(
        session, runtime, caller, kind="sms", targets=Targets(phones=[number]), form=form,
        options={"sms_sender": sender},
    )  # fmt: skip
    part = rendered.channels.get("sms", {})
    content = {**content_of("sms", part), "from_number": sender or part.get("sender")}
    return Sent(notification_id, template, content, {})


def _address(personalisation: Mapping[str, Any]) -> Address:
    """Notify's address lines (the last is the postcode; ``postcode`` is the last if given)."""
    lines = [str(personalisation[k]).strip() for k in ADDRESS_LINES if personalisation.get(k)]
    if personalisation.get("postcode"):
        lines.append(str(personalisation["postcode"]).strip())
    lines = [line for line in lines if line]
    if len(lines) < NOTIFY_FEWEST_LINES:
        raise errors.validation([f"Address must be at least {NOTIFY_FEWEST_LINES} lines"])
    if len(lines) > NOTIFY_MOST_LINES:
        raise errors.validation([f"Address must be no more than {NOTIFY_MOST_LINES} lines"])
    address = {"lines": lines[:-1], "postcode": lines[-1]}
    return Address.model_validate(address, context={FEWEST_ADDRESS_LINES: NOTIFY_FEWEST_LINES - 1})


async def send_letter(
    session: AsyncSession, runtime: Runtime, caller: NotifyCaller, body: Any
) -> Sent:
    """A letter from a template to one postal address."""
    form = requests.validate(body, requests.LETTER)
    account, template = await _template(session, caller, form, "letter")
    if caller.key_type == "team":
        raise errors.bad_request(TEAM_LETTERS, status=403)
    personalisation = form["personalisation"]
    address = _address(personalisation)
    rendered = await render(
        session, account=account, template=template, personalisation=personalisation, user=None
    )
    part = template.resolved.row.body["channels"]["letter"]
    postage = part.get("postage") or "second"
    notification_id = await _accept(
        session, runtime, caller, kind="letter", targets=Targets(addresses=[address]), form=form,
        options={"postage": postage},
    )  # fmt: skip
    content = content_of("letter", rendered.channels.get("letter", {}))
    return Sent(notification_id, template, content, {"scheduled_for": None})


def _pdf(content: str) -> bytes:
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise errors.bad_request("Cannot decode letter content (invalid base64 encoding)") from exc


async def send_precompiled(
    session: AsyncSession, runtime: Runtime, caller: NotifyCaller, body: Any
) -> dict[str, Any]:
    """A letter whose PDF the sender made: ``{"id", "reference", "postage"}``."""
    form = requests.validate(body, requests.PRECOMPILED)
    if caller.key_type == "team":
        raise errors.bad_request(TEAM_LETTERS, status=403)
    postage = form.get("postage") or "second"
    letter = PrecompiledLetter(_pdf(form["content"]), form["reference"], postage)
    accepted = await accept_precompiled(
        session, principal=caller.principal, letter=letter, settings=runtime.settings,
        throttle=runtime.throttle, bus=runtime.bus,
    )  # fmt: skip
    return {"id": str(accepted.id), "reference": form["reference"], "postage": postage}
