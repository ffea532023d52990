"""Herald templates seen as Notify templates: one with exactly one of the ``email``, ``sms``
and ``letter`` parts is a Notify template of that type (API.md). Notify's template ids are
UUIDs (its clients parse them so), so a template whose id is not one is not listed.

Rendering goes through the templates service, as every send does.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account
from herald.compat.notify import errors
from herald.errors import NotFound
from herald.templates import service
from herald.templates.inheritance import Resolved
from herald.templates.models import TemplateVersion
from herald.templates.sending import RenderedTemplate, SendingTemplate, load_for_sending
from herald.templates.variables import variables_of

NOTIFY_TYPES = ("email", "sms", "letter")
RESERVED = ("payload", "user", "account")


def notify_type(body: Mapping[str, Any]) -> str | None:
    """``email``, ``sms`` or ``letter`` when the body has exactly one of those parts."""
    channels = body.get("channels") or {}
    present = [name for name in NOTIFY_TYPES if channels.get(name)]
    return present[0] if len(present) == 1 else None


def is_uuid(value: str) -> bool:
    """Whether a template id is a UUID, as Notify's are."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class NotifyTemplate:
    """A template as the account gets it, with its Notify type."""

    resolved: Resolved
    type: str

    @property
    def id(self) -> str:
        """The template's id."""
        return self.resolved.row.template_id


async def find(session: AsyncSession, *, account: Account, template_id: str) -> NotifyTemplate:
    """The Notify template of that id; Notify's 404 when there is none."""
    try:
        resolved = await service.get_template(session, account=account, template_id=template_id)
    except NotFound as exc:
        raise errors.no_result() from exc
    kind = notify_type(resolved.row.body)
    if kind is None or not is_uuid(template_id):
        raise errors.no_result()
    return NotifyTemplate(resolved, kind)


async def for_sending(
    session: AsyncSession, *, account: Account, template_id: str, notification_type: str
) -> NotifyTemplate:
    """The template a send names, checked as Notify checks it (400 ``BadRequestError``)."""
    try:
        found = await find(session, account=account, template_id=template_id)
    except errors.NotifyError as exc:
        raise errors.bad_request("Template not found") from exc
    if found.type != notification_type:
        raise errors.bad_request(
            f"{found.type} template is not suitable for {notification_type} notification"
        )
    if not found.resolved.row.body.get("enabled", True):
        raise errors.bad_request(f"Template {template_id} has been deleted")
    return found


async def list_all(
    session: AsyncSession, *, account: Account, template_type: str | None
) -> list[NotifyTemplate]:
    """Every Notify template the account gets, of one type or all."""
    listed = await service.list_templates(session, account=account)
    found = [NotifyTemplate(r, kind) for r in listed if (kind := notify_type(r.row.body))]
    return [
        t for t in found if is_uuid(t.id) and (template_type is None or t.type == template_type)
    ]


async def version(
    session: AsyncSession, *, account: Account, template: NotifyTemplate, number: int
) -> TemplateVersion:
    """One saved version of the template; Notify's 404 when it has none of that number."""
    try:
        _, found = await service.get_version(
            session, account=account, template_id=template.id, version=number
        )
    except NotFound as exc:
        raise errors.no_result() from exc
    return found


def placeholders(parts: Mapping[str, Any]) -> list[str]:
    """The personalisation fields a Notify part reads (not the event, user or account)."""
    names = {
        name.split(".")[0]
        for value in parts.values()
        if isinstance(value, str)
        for name in variables_of(value)
    }
    return sorted(n for n in names if n not in RESERVED)


async def render(
    session: AsyncSession,
    *,
    account: Account,
    template: NotifyTemplate,
    personalisation: Mapping[str, Any],
    user: Mapping[str, Any] | None,
    sanitise: Iterable[str] = (),
) -> RenderedTemplate:
    """The template rendered as a send renders it (``Missing personalisation: ...`` 400)."""
    loaded: SendingTemplate = await load_for_sending(
        session, account=account, template_id=template.id
    )
    return await asyncio.to_thread(
        loaded.render,
        locale=None,
        personalisation=personalisation,
        payload={},
        user=user,
        channels={template.type},
        sanitise=sanitise,
    )
