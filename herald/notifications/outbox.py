"""Pending deliveries on the external channels, written with the notification (the outbox)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from herald.bus import Bus
from herald.db import new_id
from herald.delivery.compose import is_templated
from herald.delivery.models import Delivery
from herald.delivery.queue import wake_workers
from herald.delivery.status import DeliveryStatus
from herald.events.builtin import TypeDef
from herald.events.schemas import Envelope
from herald.events.targeting import Recipients
from herald.notifications.reach import expand
from herald.templates.sending import TemplateRef

CHUNK = 5000
DELIVERIES = cast(Table, Delivery.__table__)
# Raw addresses say which channel reaches them; naming one implies its channel.
IMPLIED = (("emails", "email"), ("phones", "sms"), ("addresses", "letter"))
# Channels that reach directory users; the worker looks their address or devices up at send time.
USER_CHANNELS = frozenset({"email", "sms", "push"})
IN_APP = "in_app"
# Channels that reach the account itself (its webhook endpoints, its chat services).
ACCOUNT_CHANNELS = frozenset({"webhook", "chat"})


def channels_for(definition: TypeDef, envelope: Envelope) -> list[str]:
    """The envelope's channels (else the type's), plus those raw addresses imply."""
    chosen = list(envelope.channels or definition.channels)
    for field, channel in IMPLIED:
        if getattr(envelope.targets, field) and channel not in chosen:
            chosen.append(channel)
    return list(dict.fromkeys(chosen))


def _recipients(
    channel: str, recipients: Recipients, user_channels: Collection[str] | None
) -> list[tuple[uuid.UUID | None, dict[str, Any]]]:
    found: list[tuple[uuid.UUID | None, dict[str, Any]]] = []
    reaches_users = channel in USER_CHANNELS or channel == IN_APP
    if reaches_users and (user_channels is None or channel in user_channels):
        found += [(uid, {"user": ext}) for uid, ext in recipients.users.items()]
    if channel == "email":
        found += [(None, {"email": e}) for e in recipients.emails]
    elif channel == "sms":
        found += [(None, {"phone": p}) for p in recipients.phones]
    elif channel == "letter":
        found += [(None, {"address": a}) for a in recipients.addresses]
    elif channel in ACCOUNT_CHANNELS:
        # Expanded when written: one delivery per matching webhook endpoint (``expand``).
        found.append((None, {channel: "account"}))
    return found


def plan(
    *,
    account_id: uuid.UUID,
    notification_id: uuid.UUID,
    channels: list[str],
    recipients: Recipients,
    due_at: datetime,
    now: datetime,
    test: bool,
    user_channels: Collection[str] | None = None,
    inbox: bool = False,
) -> list[dict[str, Any]]:
    """One pending delivery row per recipient per external channel (users only on
    ``user_channels`` when given); with ``inbox``, one ``in_app`` row per user too, for the
    rules to decide (``take_inbox`` keeps only those they ruled out)."""
    common = {
        "account_id": account_id,
        "notification_id": notification_id,
        "status": DeliveryStatus.CREATED.value,
        "due_at": due_at,
        "attempts": 0,
        "leased_until": None,
        "leased_by": None,
        "test": test,
        "created_at": now,
        "updated_at": now,
        # Set by ``pin`` on the rows a template renders; every row has the keys (one statement).
        "template_id": None,
        "template_version": None,
        "template_row_id": None,
        "own_provider": None,
        # Set by ``herald.rules.decide`` (a skipped row's reason and completion time).
        "category": None,
        "reason": None,
        "completed_at": None,
        "mandatory": False,
        "digest_key": None,
        "digest_id": None,
        "escalation": None,
    }
    rows = [
        {**common, "id": new_id(), "channel": channel, "user_id": uid, "recipient": recipient}
        for channel in channels
        if channel != IN_APP
        for uid, recipient in _recipients(channel, recipients, user_channels)
    ]
    if inbox and IN_APP in channels:
        # No id yet: most are dropped (``take_inbox`` gives the written ones theirs), and an id
        # cost more than the rest of the row (bench/rules_inbox.py).
        rows += [
            {**common, "id": None, "channel": IN_APP, "user_id": uid, "recipient": recipient}
            for uid, recipient in _recipients(IN_APP, recipients, user_channels)
        ]
    return rows


def needs_template(rows: Iterable[dict[str, Any]]) -> bool:
    """Whether any of these rows is rendered from a template (anything but a webhook)."""
    return any(_rendered(row) for row in rows)


def _rendered(row: dict[str, Any]) -> bool:
    return row["channel"] != IN_APP and is_templated(row["channel"])


def pin(rows: Iterable[dict[str, Any]], template: TemplateRef | None) -> None:
    """Record on each templated row the template version checked at accept: the worker renders
    that version, whatever the template has become by then."""
    if template is None:
        return
    for row in rows:
        if _rendered(row):
            row["template_id"] = template.template_id
            row["template_version"] = template.version
            row["template_row_id"] = template.row_id


def choose_provider(rows: Iterable[dict[str, Any]], sealed: str) -> None:
    """Send these rows through the provider their notification chose (sealed settings)."""
    for row in rows:
        if row["channel"] != IN_APP:
            row["own_provider"] = sealed


def take_inbox(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The external rows, and the ``in_app`` rows the rules ruled out: those are written
    (``skipped``, with their reason) and their users get no inbox item; the others' inbox item
    is the record, so their rows are dropped."""
    external: list[dict[str, Any]] = []
    withheld: list[dict[str, Any]] = []
    for row in rows:
        if row["channel"] != IN_APP:
            external.append(row)
        elif row["status"] == DeliveryStatus.SKIPPED.value:
            row["id"] = new_id()
            withheld.append(row)
    return external, withheld


def charged(rows: list[dict[str, Any]], withheld: list[dict[str, Any]], items: int) -> int:
    """What decided rows cost against the daily cap: the deliveries the rules left to send
    (held and due later included) and the inbox items written (``items`` planned, less the
    ``withheld``); what the rules ruled out is never sent, so it costs nothing."""
    skipped = DeliveryStatus.SKIPPED.value
    return sum(1 for row in rows if row["status"] != skipped) + items - len(withheld)


async def insert_deliveries(
    session: AsyncSession, *, rows: list[dict[str, Any]], bus: Bus
) -> list[dict[str, Any]]:
    """Bulk-insert pending deliveries, a statement per 5000; workers wake after the commit.

    Push and webhook rows are first expanded to one per device and one per endpoint; the rows
    written are returned.
    """
    rows = await expand(session, rows)
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(DELIVERIES), rows[start : start + CHUNK])
    if rows:
        wake_workers(session, bus)
    return rows
