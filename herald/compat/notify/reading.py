"""Reading ``/v2`` notifications back: one, a page, a letter's PDF; each answered with the
content it was sent with (its delivery's log), or rendered now if not sent yet."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from herald.compat.notify import errors, requests
from herald.compat.notify.auth import NotifyCaller
from herald.compat.notify.shapes import STATUS_FILTERS, content_of, notification_document
from herald.compat.notify.templates import find, render
from herald.config import Settings
from herald.delivery.composers.letter import documents
from herald.errors import HeraldError
from herald.notifications.single import Single, SingleFilters, get_single, list_single
from herald.templates.service import load_account

TYPE = "notify"
PAGE = 250
PRECOMPILED_SUBJECT = "Pre-compiled PDF"


def notification_id(value: str) -> uuid.UUID:
    """A path's notification id; Notify's 400 when it is not a UUID."""
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise errors.validation(["notification_id is not a valid UUID"]) from exc


async def _content(session: AsyncSession, single: Single) -> tuple[dict[str, Any], int | None]:
    """``body``/``subject`` and the template version: from what was sent, else rendered now."""
    notification, delivery = single.notification, single.delivery
    if (notification.options or {}).get("precompiled"):
        return {"body": "", "subject": PRECOMPILED_SUBJECT}, None
    rendered = delivery.rendered
    if rendered and rendered.get("precompiled") is None and delivery.purged_at is None:
        return content_of(delivery.channel, rendered), delivery.template_version
    account = await load_account(session, account_id=notification.account_id)
    try:
        template = await find(session, account=account, template_id=notification.template or "")
        done = await render(
            session, account=account, template=template,
            personalisation=notification.personalisation, user=_user(delivery.recipient),
        )  # fmt: skip
    except (HeraldError, errors.NotifyError):
        return {"body": "", "subject": None}, delivery.template_version
    return content_of(delivery.channel, done.channels.get(delivery.channel, {})), done.version


def _user(recipient: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in recipient.items() if k in ("email", "phone")}


async def document(session: AsyncSession, single: Single, base: str) -> dict[str, Any]:
    """One notification in Notify's shape."""
    content, version = await _content(session, single)
    return notification_document(single, base=base, content=content, template_version=version)


async def get_one(
    session: AsyncSession, caller: NotifyCaller, raw_id: str, base: str
) -> dict[str, Any]:
    """``GET /v2/notifications/{id}``."""
    single = await _single(session, caller, notification_id(raw_id))
    return await document(session, single, base)


async def _single(session: AsyncSession, caller: NotifyCaller, found: uuid.UUID) -> Single:
    try:
        return await get_single(
            session, account_id=caller.service_id, notification_id=found, type_=TYPE
        )
    except HeraldError as exc:
        raise errors.no_result() from exc


def _statuses(wanted: list[str] | None) -> list[str] | None:
    if not wanted:
        return None
    return sorted({status for name in wanted for status in STATUS_FILTERS[name]})


async def get_page(
    session: AsyncSession, caller: NotifyCaller, query: dict[str, Any], base: str
) -> list[dict[str, Any]]:
    """A page of ``GET /v2/notifications``, newest first (``query`` as validated)."""
    form = requests.validate(query, requests.LIST_NOTIFICATIONS)
    filters = SingleFilters(
        type=TYPE,
        test=caller.principal.test,
        channels=form.get("template_type") or None,
        statuses=_statuses(form.get("status")),
        reference=form.get("reference"),
    )
    older = form.get("older_than")
    rows = await list_single(
        session, account_id=caller.service_id, filters=filters,
        older_than=uuid.UUID(older) if older else None, limit=PAGE,
    )  # fmt: skip
    return [await document(session, row, base) for row in rows]


async def letter_pdf(
    session: AsyncSession, caller: NotifyCaller, raw_id: str, settings: Settings
) -> bytes:
    """``GET /v2/notifications/{id}/pdf``: the letter as printed (``PDFNotReadyError`` until
    its PDF is made)."""
    single = await _single(session, caller, notification_id(raw_id))
    delivery = single.delivery
    if delivery.channel != "letter":
        raise errors.bad_request("Notification is not a letter")
    if delivery.status == "technical-failure":
        raise errors.bad_request("PDF not available for letters in status technical-failure")
    if not delivery.document_id:
        raise errors.NotifyError(
            400, errors.PDF_NOT_READY, "PDF not available yet, try again later"
        )
    try:
        return await documents(settings).get(delivery.document_id)
    except HeraldError as exc:
        raise errors.no_result() from exc
