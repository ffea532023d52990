"""Which template version a delivery renders: the one checked when it was accepted.

Accepting a notification records on each templated delivery the template row and version it
checked (``template_row_id``, ``template_version``); the worker renders exactly that version,
whatever the template is by then. A version never changes once saved, so versions are kept in
memory by (row, version) with no expiry (the least recently used go past ``size``): no process
can render a stale template, and a notification to thousands of recipients reads its template
once. A delivery accepted without a version (written before versions were recorded, or when
no template was found at accept) is rendered with what the account gets now.
Parts a notification brings itself (``template_parts``, a broadcast's inline document) are laid
over the template it names.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account
from herald.channels.base import PermanentDeliveryError
from herald.delivery.models import Delivery
from herald.errors import HeraldError
from herald.notifications.models import Notification
from herald.templates.models import Template, TemplateVersion
from herald.templates.sending import (
    SendingTemplate,
    TemplateRef,
    load_for_sending,
    pinned_template,
    ref_for_type,
)

_Key = tuple[uuid.UUID, int]


class TemplateCache:
    """Saved template versions by (template row, version), the ``size`` most recently used."""

    def __init__(self, *, size: int = 256) -> None:
        self.size = size
        self._versions: OrderedDict[_Key, tuple[TemplateRef, dict[str, Any]]] = OrderedDict()

    async def for_delivery(
        self,
        session: AsyncSession,
        *,
        account: Account,
        notification: Notification,
        delivery: Delivery,
    ) -> SendingTemplate:
        """The template version to render ``delivery`` with; PermanentDeliveryError if none."""
        if delivery.template_row_id is None or delivery.template_version is None:
            if notification.template is not None:
                current = await _current(
                    session, account=account, template_id=notification.template
                )
                return _with_own_parts(current, notification)
            ref = await ref_for_type(
                session, account_id=account.id, type_=notification.type,
                sub_type=notification.sub_type,
            )  # fmt: skip
            if ref is None:
                raise PermanentDeliveryError(
                    f"no template for {notification.type}/{notification.sub_type}"
                )
            key = (ref.row_id, ref.version)
        else:
            key = (delivery.template_row_id, delivery.template_version)
        found = self._versions.get(key)
        if found is None:
            found = await _version(session, key)
            self._versions[key] = found
            if len(self._versions) > self.size:
                self._versions.popitem(last=False)
        else:
            self._versions.move_to_end(key)
        ref, body = found
        return _with_own_parts(pinned_template(ref, body, account), notification)


def _with_own_parts(template: SendingTemplate, notification: Notification) -> SendingTemplate:
    if notification.template_parts:
        return template.with_parts(notification.template_parts, variant=notification.id)
    return template


async def _version(session: AsyncSession, key: _Key) -> tuple[TemplateRef, dict[str, Any]]:
    row_id, version = key
    found = (
        await session.execute(
            select(Template.template_id, Template.account_id, TemplateVersion.body)
            .join(TemplateVersion, TemplateVersion.template_row_id == Template.id)
            .where(Template.id == row_id, TemplateVersion.version == version)
        )
    ).first()
    if found is None:  # versions are never deleted while their deliveries exist
        raise PermanentDeliveryError(f"template version {version} of row {row_id} is gone")
    template_id, owner, body = found
    return TemplateRef(template_id, row_id, version, owner), dict(body)


async def _current(session: AsyncSession, *, account: Account, template_id: str) -> SendingTemplate:
    """What the account gets now for the template the notification names."""
    try:
        return await load_for_sending(session, account=account, template_id=template_id)
    except HeraldError as exc:
        # The template was deleted after the notification was accepted.
        raise PermanentDeliveryError(f"no template {template_id}: {exc.message}") from exc
