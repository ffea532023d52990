"""Which template a delivery renders, loaded once per worker for a few seconds.

A notification names its template; one that names none uses the template the account
sees for its ``type``/``subType`` (the system defaults cover the built-in types).
Loaded templates are kept briefly so that a notification to thousands of recipients
reads its template once, not once per delivery; a change is picked up within ``ttl``. Parts
a notification brings itself (``template_parts``) are laid over the template it names.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account
from herald.channels.base import PermanentDeliveryError
from herald.errors import HeraldError
from herald.notifications.models import Notification
from herald.templates.sending import SendingTemplate, load_for_sending
from herald.templates.service import ListFilters, list_templates

_Key = tuple[uuid.UUID, str, str]


class TemplateCache:
    """Templates by (account, how the notification names it), each kept for ``ttl`` seconds."""

    def __init__(self, *, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[_Key, tuple[float, SendingTemplate]] = {}

    async def for_notification(
        self, session: AsyncSession, *, account: Account, notification: Notification
    ) -> SendingTemplate:
        """The template to render ``notification`` with; PermanentDeliveryError if none."""
        if notification.template:
            key: _Key = (account.id, "id", notification.template)
        else:
            key = (account.id, "type", f"{notification.type}/{notification.sub_type}")
        found = self._entries.get(key)
        if found is not None and self._clock() - found[0] < self.ttl:
            template = found[1]
        else:
            template = await _load(session, account=account, notification=notification)
            self._entries[key] = (self._clock(), template)
        if notification.template_parts:
            return template.with_parts(notification.template_parts, variant=notification.id)
        return template


async def _load(
    session: AsyncSession, *, account: Account, notification: Notification
) -> SendingTemplate:
    template_id = notification.template or await _template_of_type(
        session, account=account, type_=notification.type, sub_type=notification.sub_type
    )
    try:
        return await load_for_sending(session, account=account, template_id=template_id)
    except HeraldError as exc:
        # The template was deleted after the notification was accepted.
        raise PermanentDeliveryError(f"no template {template_id}: {exc.message}") from exc


async def _template_of_type(
    session: AsyncSession, *, account: Account, type_: str, sub_type: str
) -> str:
    filters = ListFilters(type=type_, sub_type=sub_type)
    found = await list_templates(session, account=account, filters=filters)
    if not found:
        raise PermanentDeliveryError(f"no template for {type_}/{sub_type}")
    return found[0].row.template_id
