"""Broadcast: one templated notification to each account below a reseller, in one transaction.

``POST /v1/accounts/{id}/broadcast`` (seed 002's customer update). The rules:

- Targets: every descendant of ``{id}``, or only ``recipient_id`` (a descendant, else 404).
- The template must be one ``{id}`` sees (else 422 at ``/template``); each target renders
  the version it sees itself, so its own override (or its nearest ancestor's) wins. A
  target whose template is disabled has switched these messages off and is skipped.
- ``user_type``: ``all_users``, ``admins_only`` (the default, as in seed 002) or one user's
  external id. A target without such users gets nothing; an external id that no target
  has is 422 at ``/user_type``.
- Each reached account gets a ``custom/broadcast`` notification of its own, naming the
  template and personalisation, with deliveries per user and channel (email unless
  ``channels`` says otherwise) that the worker renders for that account, and inbox items
  for ``in_app``. The messages count against the broadcasting account's daily cap.
- ``parts`` (seed 002's inline document: subject, bodies, sender) are laid over each
  target's template, for every recipient, and kept with the notification.
- Every field the template reads is checked before anything is written: the request's
  (personalisation) once per template version, each recipient's (``user.*``) for each
  recipient. One missing is a 400 naming the field and who lacks it, never a delivery
  that fails after the 202. Macros the catalogue says are "not always present" render
  empty instead.

Bulk: the template rows in one query, the users a query per 5000 accounts, the
notifications in one insert and the deliveries a statement per 5000; only ``in_app``
costs a few statements per account (one fan-out each).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.auth import Principal
from herald.accounts.models import Account
from herald.accounts.service import descendants, is_within, visible_account
from herald.bus import Bus
from herald.db import new_id, utcnow
from herald.directory.models import User
from herald.errors import NotFound, ValidationFailed
from herald.events.targeting import Recipients
from herald.inbox.fanout import fan_out
from herald.notifications import outbox
from herald.notifications.charging import charge, refuse_over_cap
from herald.notifications.models import Notification
from herald.notifications.progress import accepted_status
from herald.notifications.service import in_app_message, in_app_text
from herald.notifications.templated import (
    COLUMNS,
    Recipient,
    Shared,
    check_recipients,
    recipient_of,
)
from herald.rules import decide as rules
from herald.templates.compose import account_fields, check_channels
from herald.templates.inheritance import chain_of, nearest
from herald.templates.models import Template
from herald.templates.sending import SendingTemplate, TemplateRef, check_template
from herald.throttling.service import Throttle

TYPE, SUB_TYPE = "custom", "broadcast"
ALL_USERS, ADMINS_ONLY = "all_users", "admins_only"
CHUNK = 5000


@dataclass(frozen=True)
class BroadcastRequest:
    """What to broadcast, to whom (``user_type``) and where (``recipient_id``, else all)."""

    template: str
    user_type: str
    recipient_id: uuid.UUID | None
    personalisation: dict[str, Any]
    channels: list[str]
    parts: dict[str, Any] | None = None
    """Channel parts over the template's (``{"email": {"subject", "html", ...}}``)."""


@dataclass(frozen=True)
class Broadcasted:
    """``202 {"accounts", "recipients", "ids"}``: one notification per account reached."""

    accounts: int
    recipients: int
    ids: list[uuid.UUID]


@dataclass(frozen=True)
class _Target:
    """One account to reach: its template and its users (as templates see them)."""

    account: Account
    template: SendingTemplate
    recipients: list[Recipient]

    @property
    def users(self) -> dict[uuid.UUID, str]:
        """The users reached, id → external id."""
        return {r.id: r.external_id for r in self.recipients}


async def _accounts(
    session: AsyncSession, root: Account, recipient_id: uuid.UUID | None
) -> list[Account]:
    if recipient_id is None:
        return sorted(await descendants(session, account=root), key=lambda a: a.path)
    account = await session.get(Account, recipient_id)
    if account is None or account.id == root.id or not is_within(account, root.id):
        raise NotFound("No such account below this one")
    return [account]


async def _template_rows(session: AsyncSession, root: Account, template_id: str) -> list[Template]:
    """Every live row of ``template_id`` that ``root`` or an account below it may get."""
    subtree = select(Account.id).where(Account.path.startswith(root.path))
    owners = [*root.ancestor_ids, root.id]
    rows = await session.scalars(
        select(Template).where(
            Template.template_id == template_id,
            Template.deleted_at.is_(None),
            or_(
                Template.account_id.is_(None),
                Template.account_id.in_(owners),
                Template.account_id.in_(subtree),
            ),
        )
    )
    return list(rows)


def _sending(
    row: Template, account: Account, parts: dict[str, Any] | None, variant: uuid.UUID
) -> SendingTemplate:
    """The row as the sending side renders it for ``account``, with the request's parts
    (``variant`` keeps their compiled sources apart from every other request's)."""
    ref = TemplateRef(row.template_id, row.id, row.version, row.account_id)
    fields = account_fields(str(account.id), account.name, account.default_locale)
    template = SendingTemplate(ref, dict(row.body), fields)
    return template.with_parts(parts, variant=variant) if parts else template


def _user_condition(user_type: str) -> ColumnElement[bool] | None:
    if user_type == ALL_USERS:
        return None
    if user_type == ADMINS_ONLY:
        return User.admin.is_(True)
    return User.external_id == user_type


async def _users(
    session: AsyncSession, account_ids: Sequence[uuid.UUID], user_type: str
) -> dict[uuid.UUID, list[Recipient]]:
    """account → its users of ``user_type``, with what templates see of them, a query per
    5000 accounts."""
    found: dict[uuid.UUID, list[Recipient]] = defaultdict(list)
    wanted = _user_condition(user_type)
    for start in range(0, len(account_ids), CHUNK):
        query = select(User.account_id, *COLUMNS).where(
            User.account_id.in_(account_ids[start : start + CHUNK])
        )
        if wanted is not None:
            query = query.where(wanted)
        for row in await session.execute(query.order_by(User.id)):
            found[row[0]].append(recipient_of(row[1:]))
    return found


async def _targets(
    session: AsyncSession, root: Account, request: BroadcastRequest
) -> list[_Target]:
    """The accounts to reach, each with the template it sees and its users; 422 for an
    unknown template or user."""
    accounts = await _accounts(session, root, request.recipient_id)
    rows = await _template_rows(session, root, request.template)
    if nearest(rows, chain_of(root)) is None:
        raise ValidationFailed.at("/template", f"No template {request.template}")
    templates = {}
    variant = new_id()
    for account in accounts:
        row = nearest(rows, chain_of(account))
        assert row is not None  # the root's row is in every chain below it
        templates[account.id] = _sending(row, account, request.parts, variant)
    enabled = [a for a in accounts if templates[a.id].enabled]
    users = await _users(session, [a.id for a in enabled], request.user_type)
    if request.user_type not in (ALL_USERS, ADMINS_ONLY) and not users:
        raise ValidationFailed.at("/user_type", f"No account has a user {request.user_type}")
    return [_Target(a, templates[a.id], users[a.id]) for a in enabled if users.get(a.id)]


async def _check_fields(targets: Sequence[_Target], request: BroadcastRequest) -> None:
    """400 naming the missing fields: the request's once per distinct template version, the
    recipients' on the external channels for each recipient (the fan-out checks in-app)."""
    checked: set[tuple[uuid.UUID, int]] = set()
    shared = Shared(request.personalisation, {}, None)
    external = set(request.channels) - {"in_app"}
    for target in targets:
        ref = target.template.ref
        if (ref.row_id, ref.version) not in checked:
            checked.add((ref.row_id, ref.version))
            await check_template(
                target.template,
                locale=None,
                personalisation=request.personalisation,
                payload={},
                channels=set(request.channels),
            )
    recipients = [(t.template, t.recipients) for t in targets]
    await asyncio.to_thread(check_recipients, recipients, shared, external)


def _targets_document(user_type: str) -> dict[str, Any]:
    """The notification's ``targets``, in the envelope's terms."""
    if user_type == ALL_USERS:
        return {"all": True}
    if user_type == ADMINS_ONLY:
        return {"admins": True}
    return {"users": [user_type]}


def _notification(
    target: _Target, principal: Principal, request: BroadcastRequest, now: datetime
) -> Notification:
    return Notification(
        id=new_id(),
        created_at=now,
        updated_at=now,
        account_id=target.account.id,
        key_id=principal.key_id,
        test=principal.test,
        type=TYPE,
        sub_type=SUB_TYPE,
        products=[],
        targets=_targets_document(request.user_type),
        channels=request.channels,
        payload={},
        message=None,
        correlation_id=None,
        require_action=False,
        actions=[],
        template=request.template,
        template_parts=request.parts,
        personalisation=request.personalisation,
        scheduled_at=None,
        recipients=len(target.users),
    )


async def _deliveries(
    session: AsyncSession,
    targets: Sequence[_Target],
    notifications: Sequence[Notification],
    request: BroadcastRequest,
    *,
    test: bool,
    now: datetime,
) -> list[dict[str, Any]]:
    """The pending delivery rows of every notification, per user and external channel, with
    each target account's delivery rules applied (``in_app`` rows too: only the ruled-out ones
    are kept, ``outbox.take_inbox``)."""
    rows: list[dict[str, Any]] = []
    facts: dict[uuid.UUID, rules.Facts] = {}
    for target, notification in zip(targets, notifications, strict=True):
        planned = outbox.plan(
            account_id=target.account.id,
            notification_id=notification.id,
            channels=request.channels,
            recipients=Recipients(users=target.users),
            due_at=now,
            now=now,
            test=test,
            inbox="in_app" in request.channels,
        )
        outbox.pin(planned, target.template.ref)
        body = target.template.body
        facts[target.account.id] = rules.facts_of(type_=TYPE, type_rules=None, template_body=body)
        rows += planned
    await rules.decide(session, rows, facts, now=now)
    return rows


async def _write_inbox(
    session: AsyncSession,
    notification: Notification,
    target: _Target,
    request: BroadcastRequest,
    bus: Bus,
    withheld: set[uuid.UUID],
) -> None:
    shared = Shared(request.personalisation, {}, None)
    found = in_app_text(session, target.template, shared)
    if found is None:
        problem = f"Template {request.template} of account {target.account.id} has no in_app part"
        raise ValidationFailed.at("/channels", problem)
    text, texts = found
    message = in_app_message(notification, text=text, realtime=True, claimed=None)
    users = list(target.users)
    await fan_out(session, message=message, users=users, bus=bus, texts=texts, withheld=withheld)


def _set_statuses(
    notifications: Sequence[Notification], rows: Sequence[dict[str, Any]], *, in_app: bool
) -> None:
    """Each notification's status from its delivery rows (every target has users)."""
    statuses: dict[uuid.UUID, list[str]] = {n.id: [] for n in notifications}
    for row in rows:
        statuses[row["notification_id"]].append(row["status"])
    for notification in notifications:
        notification.status = accepted_status(statuses[notification.id], in_app=in_app)


async def broadcast(
    session: AsyncSession,
    *,
    principal: Principal,
    account_id: uuid.UUID,
    request: BroadcastRequest,
    throttle: Throttle,
    bus: Bus,
) -> Broadcasted:
    """Write one notification, its inbox items and deliveries, in each target account."""
    root = await visible_account(session, caller_id=principal.account_id, account_id=account_id)
    if request.parts:
        check_channels(request.parts, prefix="/parts", complete=False)
    targets = await _targets(session, root, request)
    await _check_fields(targets, request)
    now = utcnow()
    notifications = [_notification(t, principal, request, now) for t in targets]
    planned = await _deliveries(
        session, targets, notifications, request, test=principal.test, now=now
    )
    rows, withheld = outbox.take_inbox(planned)
    recipients = sum(len(t.users) for t in targets)
    in_app = "in_app" in request.channels
    messages = outbox.charged(rows, withheld, in_app * recipients)
    await refuse_over_cap(session, throttle, principal, messages)
    _set_statuses(notifications, rows, in_app=in_app)
    session.add_all(notifications)
    await session.flush()
    if in_app:
        held: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
        for row in withheld:
            held[row["notification_id"]].add(row["user_id"])
        for target, notification in zip(targets, notifications, strict=True):
            await _write_inbox(session, notification, target, request, bus, held[notification.id])
    written = await outbox.insert_deliveries(session, rows=rows + withheld, bus=bus)
    _set_statuses(notifications, written, in_app=in_app)
    await charge(session, throttle, principal, messages)
    return Broadcasted(len(notifications), recipients, [n.id for n in notifications])
