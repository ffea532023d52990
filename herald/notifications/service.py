"""Accepting a notification in one transaction, reading it back, and cancelling it.

Accepting writes the notification, its recipients' inbox items and its pending deliveries
together, with bulk statements: nothing is half-written and nothing runs per recipient.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import ColumnElement, Table, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.auth import Principal
from herald.accounts.scopes import type_scope
from herald.bus import Bus
from herald.channels.registry import installed_providers
from herald.db import AfterCommit, new_id, on_commit, utcnow
from herald.delivery.compose import REMOTE_TEMPLATE
from herald.delivery.models import Delivery
from herald.delivery.providers import OwnProvider, own_provider
from herald.delivery.status import ALLOWED, DeliveryStatus
from herald.directory.models import User
from herald.errors import NotFound, ValidationFailed
from herald.events import service as catalogue
from herald.events.builtin import TypeDef
from herald.events.schemas import Envelope
from herald.events.targeting import Recipients, resolve_targets
from herald.inbox.fanout import InAppMessage, ItemText, TextSource, fan_out
from herald.inbox.models import InboxItem, InboxItemHistory
from herald.inbox.service import withdraw_items
from herald.metrics import NOTIFICATIONS_ACCEPTED
from herald.notifications import outbox, progress
from herald.notifications.charging import charge, refuse_over_cap
from herald.notifications.content import render_in_app
from herald.notifications.models import Notification
from herald.notifications.templated import InAppTemplate, Shared, named_template, template_for
from herald.rules import decide as rules
from herald.templates.sending import SendingTemplate, TemplateRef, ref_for_type
from herald.throttling.service import Throttle

NOTIFICATIONS = cast(Table, Notification.__table__)


@dataclass(frozen=True)
class Accepted:
    """What ``POST /v1/notifications`` answers."""

    id: uuid.UUID
    recipients: int


async def _claimer(
    session: AsyncSession, definition: TypeDef, envelope: Envelope, account_id: uuid.UUID
) -> uuid.UUID | None:
    """The user named by the type's claim field (``answeredById``), if any; 422 if unknown."""
    external_id = envelope.payload.get(definition.claim_field) if definition.claim_field else None
    if not isinstance(external_id, str):
        return None
    user_id = await session.scalar(
        select(User.id).where(User.account_id == account_id, User.external_id == external_id)
    )
    if user_id is None:
        raise ValidationFailed.at(
            f"/payload/{definition.claim_field}", f"Unknown user {external_id}"
        )
    return user_id


@dataclass(frozen=True)
class Sending:
    """What a sender may add beyond the envelope: its own reference, and how the deliveries
    go out (``Notification.options``: ``reply_to``, ``sms_sender``, ``unsubscribe_url``,
    ``postage``)."""

    reference: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    sealing_key: str | None = None
    """Seals a provider the envelope chooses (``provider``); without it one is refused."""


@dataclass(slots=True)
class Record:
    """A notification's row as accepting writes it: the column values it sets, plain (column
    defaults fill the rest). Building an ORM ``Notification`` for it was most of planning's
    cost (its instrumented attribute sets: 0.14 s of a 1,280-accept profile), and nothing on
    the accept path uses the ORM object: the row goes out in one Core ``INSERT`` (a group's
    members in one ``executemany``)."""

    id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    account_id: uuid.UUID
    key_id: uuid.UUID | None
    test: bool
    type: str
    sub_type: str
    products: list[str]
    targets: dict[str, Any]
    channels: list[str]
    payload: dict[str, Any]
    message: str | None
    correlation_id: str | None
    require_action: bool
    actions: list[dict[str, Any]]
    template: str | None
    personalisation: dict[str, Any]
    scheduled_at: datetime | None
    reference: str | None
    options: dict[str, Any]
    about_id: str | None
    about_type: str | None
    sent_by: str | None
    recipients: int = 0
    status: str = "queued"

    def row(self) -> dict[str, Any]:
        """The column values, by column name (every field is a column of ``notifications``)."""
        return {name: getattr(self, name) for name in RECORD_COLUMNS}


RECORD_COLUMNS = tuple(one.name for one in fields(Record))
"""The columns a ``Record`` sets, in its fields' order."""


def _record(
    principal: Principal,
    envelope: Envelope,
    channels: list[str],
    template_id: str | None,
    sending: Sending,
) -> Record:
    now = utcnow()
    about = envelope.about
    return Record(
        id=new_id(),
        created_at=now,
        updated_at=now,
        account_id=principal.account_id,
        key_id=principal.key_id,
        test=principal.test,
        type=envelope.type,
        sub_type=envelope.subType,
        products=envelope.products,
        targets=envelope.targets.model_dump(mode="json", exclude_defaults=True),
        channels=channels,
        payload=envelope.payload,
        message=envelope.message,
        correlation_id=envelope.correlation,
        require_action=envelope.requireAction,
        actions=[a.model_dump() for a in envelope.actions],
        template=template_id,
        personalisation=envelope.personalisation,
        scheduled_at=envelope.scheduledAt,
        reference=sending.reference,
        options=dict(sending.options),
        about_id=about.id if about else None,
        about_type=about.type if about else None,
        sent_by=envelope.sentBy,
    )


class _NotificationLike(Protocol):
    """What an inbox message takes of a notification: a ``Record`` or a stored one."""

    @property
    def account_id(self) -> uuid.UUID: ...
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def type(self) -> str: ...
    @property
    def sub_type(self) -> str: ...
    @property
    def correlation_id(self) -> str | None: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def actions(self) -> list[dict[str, Any]]: ...
    @property
    def require_action(self) -> bool: ...
    @property
    def created_at(self) -> datetime: ...


def in_app_message(
    notification: _NotificationLike, *, text: ItemText, realtime: bool, claimed: uuid.UUID | None
) -> InAppMessage:
    """What the notification's inbox items show (``text`` unless each gets its own)."""
    return InAppMessage(
        account_id=notification.account_id,
        notification_id=notification.id,
        type=notification.type,
        sub_type=notification.sub_type,
        correlation_id=notification.correlation_id,
        data=notification.payload,
        message=text.message,
        message_formatted=text.message_formatted,
        actions=notification.actions,
        require_action=notification.require_action,
        realtime=realtime,
        at=notification.created_at,
        claimed_by=claimed,
    )


def in_app_text(
    session: AsyncSession, template: SendingTemplate | None, shared: Shared
) -> tuple[ItemText, TextSource | None] | None:
    """The template's in-app text, common or per recipient; None if it has no in-app part."""
    part = InAppTemplate.of(template) if template is not None else None
    if part is None:
        return None
    return part.common(shared), part.text_source(session, shared)


async def _write_inbox(
    session: AsyncSession,
    notification: Record,
    *,
    definition: TypeDef,
    envelope: Envelope,
    template: SendingTemplate | None,
    claimed: uuid.UUID | None,
    recipients: Recipients,
    bus: Bus,
    withheld: set[uuid.UUID],
) -> int:
    """Fan out to the users (no new item for the ``withheld``); the distinct recipients,
    chain members included."""
    shared = Shared(envelope.personalisation, envelope.payload, envelope.message)
    found = in_app_text(session, template, shared)
    text, texts = found if found is not None else (render_in_app(definition, envelope), None)
    message = in_app_message(notification, text=text, realtime=definition.realtime, claimed=claimed)
    users = list(recipients.users)
    fanned = await fan_out(
        session, message=message, users=users, bus=bus, texts=texts, withheld=withheld
    )
    return recipients.count - len(recipients.users) + fanned.recipients


INSERT_NOTIFICATION = insert(NOTIFICATIONS)


async def _insert(session: AsyncSession, notification: Record) -> None:
    """One Core ``INSERT`` of the record's columns; column defaults fill the rest. The ORM
    flush cost more than the statement on the accept path, and nothing here reads the row
    back. The values go as parameters of a statement built once (its compiled form is cached
    by the keys given), not through ``.values()``, which built and keyed a new statement on
    every accept."""
    await session.execute(INSERT_NOTIFICATION, notification.row())


async def _recount(session: AsyncSession, notification: Record, reached: int) -> None:
    """Store the recipients a correlated fan-out reached (earlier chain members count too)."""
    if reached == notification.recipients:
        return
    notification.recipients = reached
    await session.execute(
        update(NOTIFICATIONS)
        .where(NOTIFICATIONS.c.id == notification.id)
        .values(recipients=reached, updated_at=utcnow())
    )


async def _external_template(
    session: AsyncSession,
    envelope: Envelope,
    named: SendingTemplate | None,
    account_id: uuid.UUID,
) -> TemplateRef | None:
    """The template version the external channels will render: the one the notification
    names (checked already), else its type's; None when there is none (the worker then
    fails those deliveries, saying so)."""
    if named is not None:
        return named.ref
    return await ref_for_type(
        session, account_id=account_id, type_=envelope.type, sub_type=envelope.subType
    )


async def _restate(
    session: AsyncSession,
    notification: Record,
    written: list[dict[str, Any]],
    *,
    in_app: bool,
) -> None:
    """Correct the status written with the notification when fewer deliveries were written
    than planned (a webhook no endpoint takes)."""
    status = progress.accepted_status((r["status"] for r in written), in_app=in_app)
    if status != notification.status:
        notification.status = status
        await session.execute(
            update(NOTIFICATIONS)
            .where(NOTIFICATIONS.c.id == notification.id)
            .values(status=status, updated_at=utcnow())
        )


@dataclass
class Planned:
    """A notification resolved and planned, not written yet: what ``accept`` writes alone and
    ``herald.notifications.batch`` writes with the other members of a group."""

    notification: Record
    definition: TypeDef
    envelope: Envelope
    template: SendingTemplate | None
    claimed: uuid.UUID | None
    recipients: Recipients
    rows: list[dict[str, Any]]
    """The pending deliveries (decided by the rules once ``settle`` has run)."""
    in_app: bool
    """Whether the notification has in-app items (for the users among its recipients)."""
    messages: int
    """What it costs against the daily cap: once ``take_inbox`` has run, only what the rules
    left to send."""
    facts: rules.Facts
    withheld: list[dict[str, Any]] = field(default_factory=list)
    """The in-app rows the rules ruled out (``take_inbox``): written, and no item for their
    users."""


async def plan(
    session: AsyncSession, *, principal: Principal, envelope: Envelope, sending: Sending | None
) -> Planned:
    """Validate and resolve the envelope and plan its rows; reads only, nothing written."""
    principal.require(type_scope(envelope.type))
    account_id = principal.account_id
    definition = await catalogue.get_type(
        session, account_id=account_id, type_=envelope.type, sub_type=envelope.subType
    )
    catalogue.validate(definition, envelope)
    recipients = await resolve_targets(session, account_id=account_id, targets=envelope.targets)
    claimed = await _claimer(session, definition, envelope, account_id)
    channels = outbox.channels_for(definition, envelope)
    template_id = template_for(definition, envelope)
    sending = sending or Sending()
    own = _own_provider(envelope, channels, template_id, sending)
    remote = own is not None and own.remote_template
    template = None if remote else await named_template(
        session, account_id=account_id, template_id=template_id, envelope=envelope,
        channels=channels,
    )  # fmt: skip
    if remote:
        sending = replace(sending, options={**sending.options, REMOTE_TEMPLATE: True})
    notification = _record(principal, envelope, channels, template_id, sending)
    in_app = "in_app" in channels and "in_app" in (envelope.userChannels or channels)
    rows = outbox.plan(
        account_id=account_id,
        notification_id=notification.id,
        channels=channels,
        recipients=recipients,
        due_at=envelope.scheduledAt or notification.created_at,
        now=notification.created_at,
        test=principal.test,
        user_channels=envelope.userChannels,
        inbox=in_app,
    )
    if outbox.needs_template(rows) and not remote:
        outbox.pin(rows, await _external_template(session, envelope, template, account_id))
    if own is not None:
        outbox.choose_provider(rows, own.sealed)
    notification.recipients = recipients.count
    return Planned(
        notification=notification, definition=definition, envelope=envelope, template=template,
        claimed=claimed, recipients=recipients, rows=rows, in_app=in_app,
        # Until the rules decide, every row and item is a message (its in-app rows are items).
        messages=sum(row["channel"] != outbox.IN_APP for row in rows)
        + in_app * len(recipients.users),
        facts=_facts(definition, envelope, template),
    )  # fmt: skip


async def settle(
    session: AsyncSession, planned: Planned, *, throttle: Throttle, principal: Principal
) -> None:
    """Decide the rows by the rules, and refuse at once what cannot fit in today's cap."""
    now = planned.notification.created_at
    await rules.decide(session, planned.rows, planned.facts, now=now)
    take_inbox(planned)
    await refuse_over_cap(session, throttle, principal, planned.messages)


def take_inbox(planned: Planned) -> None:
    """Once decided: the in-app rows the rules ruled out become ``withheld`` (written, their
    users get no item); the others leave ``rows`` (the inbox item is their record)."""
    planned.rows, planned.withheld = outbox.take_inbox(planned.rows)
    items = planned.in_app * len(planned.recipients.users)
    planned.messages = outbox.charged(planned.rows, planned.withheld, items)


def has_items(planned: Planned) -> bool:
    """Whether the notification writes inbox items."""
    return planned.in_app and bool(planned.recipients.users)


async def accept(
    session: AsyncSession,
    *,
    principal: Principal,
    envelope: Envelope,
    throttle: Throttle,
    bus: Bus,
    sending: Sending | None = None,
) -> Accepted:
    """Validate, resolve, and write a notification with its inbox items and deliveries."""
    planned = await plan(session, principal=principal, envelope=envelope, sending=sending)
    await settle(session, planned, throttle=throttle, principal=principal)
    notification, rows = planned.notification, planned.rows
    items = has_items(planned)
    notification.status = progress.accepted_status((r["status"] for r in rows), in_app=items)
    await _insert(session, notification)
    if planned.in_app:
        reached = await _write_inbox(
            session, notification, definition=planned.definition, envelope=envelope,
            template=planned.template, claimed=planned.claimed, recipients=planned.recipients,
            bus=bus, withheld={row["user_id"] for row in planned.withheld},
        )  # fmt: skip
        await _recount(session, notification, reached)
    written = await outbox.insert_deliveries(session, rows=rows + planned.withheld, bus=bus)
    await _restate(session, notification, written, in_app=items)
    await charge(session, throttle, principal, planned.messages)
    on_commit(session, counted(envelope.type))
    return Accepted(notification.id, notification.recipients)


def _own_provider(
    envelope: Envelope, channels: list[str], template_id: str | None, sending: Sending
) -> OwnProvider | None:
    """The provider the envelope chooses, checked for each external channel and sealed."""
    choice = envelope.provider
    if choice is None:
        return None
    if sending.sealing_key is None:
        raise ValidationFailed.at("/provider", "A provider cannot be chosen here")
    external = [channel for channel in channels if channel != "in_app"]
    return own_provider(
        installed_providers(), name=choice.name, config=choice.settings, channels=external,
        template_id=template_id, secret=sending.sealing_key,
    )  # fmt: skip


def _facts(
    definition: TypeDef, envelope: Envelope, template: SendingTemplate | None
) -> rules.Facts:
    return rules.facts_of(
        type_=envelope.type,
        type_rules=definition.rules,
        template_body=template.body if template is not None else None,
        require_action=envelope.requireAction,
        urgent=envelope.urgent,
        scope=template.ref.template_id if template else f"{envelope.type}/{envelope.subType}",
        payload=envelope.payload,
        escalation=(
            [step.model_dump() for step in envelope.escalation] if envelope.escalation else None
        ),
    )


def counted(notification_type: str) -> AfterCommit:
    """Count the notification in ``/metrics`` once it is committed, never before."""

    async def count() -> None:
        NOTIFICATIONS_ACCEPTED.labels(notification_type).inc()

    return count


async def get_notification(
    session: AsyncSession, *, account_id: uuid.UUID, notification_id: uuid.UUID
) -> Notification:
    """One of the account's notifications, or 404 (also for another account's)."""
    found = await session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.account_id == account_id
        )
    )
    if found is None:
        raise NotFound("No such notification")
    return found


async def deliveries_of(session: AsyncSession, *, notification_id: uuid.UUID) -> list[Delivery]:
    """The notification's deliveries, oldest first."""
    rows = await session.scalars(
        select(Delivery).where(Delivery.notification_id == notification_id).order_by(Delivery.id)
    )
    return list(rows)


async def deliveries_of_each(
    session: AsyncSession, *, notification_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Delivery]]:
    """The deliveries of each notification, oldest first (one statement)."""
    found: dict[uuid.UUID, list[Delivery]] = {n: [] for n in notification_ids}
    if not notification_ids:
        return found
    rows = await session.scalars(
        select(Delivery).where(Delivery.notification_id.in_(notification_ids)).order_by(Delivery.id)
    )
    for row in rows:
        found[row.notification_id].append(row)
    return found


@dataclass(frozen=True)
class Filters:
    """``GET /v1/notifications`` filters (API.md "Sending")."""

    type: str | None = None
    sub_type: str | None = None
    channel: str | None = None
    target: str | None = None
    status: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    about_id: str | None = None
    about_type: str | None = None


def _has_channel(session: AsyncSession, channel: str) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        contains = Notification.channels.op("@>", is_comparison=True)
        return contains(func.jsonb_build_array(channel))
    each = func.json_each(Notification.channels).table_valued("value")
    return exists(select(each.c.value).where(each.c.value == channel))


def _has_target(account_id: uuid.UUID, target: str) -> ColumnElement[bool]:
    # A target is a user's external id (inbox or user-addressed delivery) or a raw address.
    user_id = (
        select(User.id)
        .where(User.account_id == account_id, User.external_id == target)
        .scalar_subquery()
    )
    via_inbox = exists().where(
        InboxItemHistory.notification_id == Notification.id,
        InboxItem.id == InboxItemHistory.item_id,
        InboxItem.user_id == user_id,
    )
    via_delivery = exists().where(
        Delivery.notification_id == Notification.id,
        or_(
            Delivery.user_id == user_id,
            Delivery.recipient["email"].as_string() == target.lower(),
            Delivery.recipient["phone"].as_string() == target,
        ),
    )
    return or_(via_inbox, via_delivery)


def _conditions(
    session: AsyncSession, account_id: uuid.UUID, filters: Filters
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Notification.account_id == account_id]
    simple: list[tuple[Any, Any]] = [
        (Notification.type, filters.type),
        (Notification.sub_type, filters.sub_type),
        (Notification.status, filters.status),
        (Notification.about_id, filters.about_id),
        (Notification.about_type, filters.about_type),
    ]
    where += [column == value for column, value in simple if value is not None]
    if filters.created_from:
        where.append(Notification.created_at >= filters.created_from)
    if filters.created_to:
        where.append(Notification.created_at <= filters.created_to)
    if filters.channel:
        where.append(_has_channel(session, filters.channel))
    if filters.target:
        where.append(_has_target(account_id, filters.target))
    return where


async def list_notifications(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    filters: Filters,
    offset: int,
    limit: int,
    before: uuid.UUID | None,
) -> tuple[list[Notification], int]:
    """A page of the account's notifications, newest first, with the filtered total."""
    where = _conditions(session, account_id, filters)
    total = await session.scalar(select(func.count()).select_from(Notification).where(*where))
    if before is not None:
        where.append(Notification.id < before)
    rows = await session.scalars(
        select(Notification)
        .where(*where)
        .order_by(Notification.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows), int(total or 0)


async def cancel(
    session: AsyncSession, *, account_id: uuid.UUID, notification_id: uuid.UUID, bus: Bus
) -> None:
    """Cancel what is not sent yet and withdraw the notification's inbox items."""
    found = await session.scalar(
        select(Notification.id).where(
            Notification.id == notification_id, Notification.account_id == account_id
        )
    )
    if found is None:
        raise NotFound("No such notification")
    now = utcnow()
    # Every status the state machine lets move to cancelled, unless a worker holds the delivery
    # right now: its send is under way and its answer decides the status.
    cancellable = [s.value for s, edges in ALLOWED.items() if DeliveryStatus.CANCELLED in edges]
    await session.execute(
        update(Delivery)
        .where(
            Delivery.notification_id == found,
            Delivery.status.in_(cancellable),
            or_(Delivery.leased_until.is_(None), Delivery.leased_until < now),
        )
        .values(status=DeliveryStatus.CANCELLED.value, updated_at=now, completed_at=now)
    )
    # Deliveries first, the notification's row after: the order every writer of both keeps.
    await session.execute(
        update(NOTIFICATIONS)
        .where(NOTIFICATIONS.c.id == found, NOTIFICATIONS.c.cancelled_at.is_(None))
        .values(cancelled_at=now)
    )
    await progress.settle(session, [found])
    await withdraw_items(session, account_id=account_id, notification_id=found, bus=bus)
