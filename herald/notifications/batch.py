"""A group commit's ``/v1`` sends written together: one statement per table for all of them.

Each member is first read and planned on its own (``service.plan``, its idempotency key),
as a lone accept is; then the members that can go together are decided by the rules at once
(``rules.decide_each``: each its own facts and time), checked against the cap this process
already knows of for what the rules left to send, and written together: one ``INSERT`` of
the notifications, one copy of their inbox items with one statement each for the sequences,
the events and the history (``herald.inbox.batch``), one of the deliveries, one of the
idempotency answers, and, as the transaction's last write, one charge per account. A member
that fails while it is planned fails alone (nothing of it is written). The daily cap is
exact: the day's count is read before the writes and each member admitted in turn while it
fits, the others refused alone; the charge then checks it again, atomically.

A member whose writing depends on what the group's other members write runs after the batch,
alone, with the code a lone accept runs (``alone``): a correlated chain or a claim (their
items are updated, not only inserted), text per recipient, a fan-out beyond ``MAX_USERS``,
webhook deliveries (expanded from the stored notification), rules that count earlier
deliveries (frequency caps, digests), one idempotency key twice in the group.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.auth import Principal
from herald.bus import Bus
from herald.db import on_commit, share_reads, unshare_reads
from herald.delivery.models import Delivery
from herald.delivery.queue import wake_workers
from herald.errors import HeraldError, ServiceUnavailable
from herald.events.schemas import Envelope
from herald.inbox.batch import NewItems, write_new_items
from herald.notifications import progress
from herald.notifications.charging import daily_cap, refuse_over_cap
from herald.notifications.content import render_in_app
from herald.notifications.idempotency import Answer, Completed, claim, complete_all
from herald.notifications.reach import expand
from herald.notifications.service import (
    INSERT_NOTIFICATION,
    Accepted,
    Planned,
    Sending,
    counted,
    has_items,
    in_app_message,
    in_app_text,
    plan,
    take_inbox,
)
from herald.notifications.templated import Shared
from herald.rules import decide as rules
from herald.rules import store
from herald.sqlite_driver import deferred_inserts
from herald.throttling import daily
from herald.throttling.service import AccountLimits, Throttle, remember_limits

MAX_USERS = 100
"""Beyond this many users a notification keeps its own fan-out, written by the database."""
CHUNK = 5000
DELIVERIES = cast(Table, Delivery.__table__)
INSERT_DELIVERIES = insert(DELIVERIES)
HOOKS = "after_commit"  # herald.db.on_commit's list in session.info


@dataclass(frozen=True)
class Send:
    """One ``/v1`` send as the batch takes it: what ``service.accept`` and the idempotency
    key need, and how the route answers an accepted notification."""

    principal: Principal
    envelope: Envelope
    sending: Sending
    key: str | None
    digest: str
    respond: Callable[[Accepted], Answer]
    throttle: Throttle
    bus: Bus
    limits: AccountLimits | None = None


@dataclass
class _Ready:
    """A member planned and decided, waiting for the batch's writes."""

    index: int
    send: Send
    planned: Planned
    items: NewItems | None
    skipped: Mapping[str, int] = field(default_factory=dict)
    """What the rules ruled out, by reason (counted if the member is written)."""


Outcome = Answer | BaseException


@dataclass
class Written:
    """What the batch did: an answer for each member it took, and the others' indices."""

    answers: dict[int, Outcome]
    alone: list[int]


async def write(session: AsyncSession, sends: Sequence[Send | None]) -> Written:
    """Write the members ``sends`` gives (None: not a batchable send) together.

    Raises whatever a write raised: the caller then rolls the transaction back and runs the
    members one at a time (``herald.notifications.grouping``).
    """
    keys = Counter((s.principal.account_id, s.key) for s in sends if s is not None and s.key)
    done = Written({}, [])
    ready: list[_Ready] = []
    hooks: list[object] = session.info.setdefault(HOOKS, [])
    defaults: dict[uuid.UUID, dict[str, Any]] = {}  # each account's rules defaults, read once
    share_reads(session)  # the members' reads of users and templates, read once
    try:
        await _prepare_all(session, sends, keys, done, ready, hooks, defaults)
    finally:
        unshare_reads(session)
    await _decide(session, ready, defaults)
    ready = await _refused_early(session, ready, done.answers)
    admitted, charges, noted = await _within_caps(session, ready, done.answers)
    rules.count_skipped(session, [member.skipped for member in admitted])
    # On SQLite the inserts below ride with the next read (the inbox numbering, a charge), and
    # those left run at the block's end: here, so that one failing fails the batch here.
    async with deferred_inserts(session):
        await _write(session, admitted)
        for principal, messages, cap in charges:
            await daily.spend(session, account_id=principal.account_id, messages=messages, cap=cap)
    for throttle, account_id, used in noted:
        throttle.note_daily_used(account_id, daily.day_of(datetime.now(UTC)), used)
    for member in admitted:
        done.answers[member.index] = _answer(member)
    return done


async def _prepare_all(
    session: AsyncSession,
    sends: Sequence[Send | None],
    keys: Counter[tuple[uuid.UUID, str]],
    done: Written,
    ready: list[_Ready],
    hooks: list[object],
    defaults: dict[uuid.UUID, dict[str, Any]],
) -> None:
    """Plan every member in turn: ready for the batch, answered already (a replay, a
    refusal) or left to run alone."""
    for n, send in enumerate(sends):
        if send is None or (send.key and keys[(send.principal.account_id, send.key)] > 1):
            done.alone.append(n)
            continue
        kept = len(hooks)
        try:
            outcome = await _prepare(session, n, send, defaults)
        except _Alone:
            del hooks[kept:]
            done.alone.append(n)
            continue
        except ServiceUnavailable:
            raise
        except HeraldError as refused:  # raised by Herald's checks, before anything is written
            del hooks[kept:]
            done.answers[n] = refused
            continue
        if isinstance(outcome, Answer):
            done.answers[n] = outcome
        else:
            ready.append(outcome)


class _Alone(Exception):
    """The member runs after the batch, alone (see the module's docstring)."""


async def _prepare(
    session: AsyncSession, index: int, send: Send, defaults: dict[uuid.UUID, dict[str, Any]]
) -> _Ready | Answer:
    """The member planned and decided, or its stored answer (a replay); ``_Alone`` when it
    cannot go in the batch."""
    account_id = send.principal.account_id
    if send.limits is not None:
        remember_limits(session, account_id=account_id, limits=send.limits)
    if send.key is not None:
        stored = await claim(session, account_id=account_id, key=send.key, digest=send.digest)
        if stored is not None:
            return stored
    planned = await plan(session, principal=send.principal, envelope=send.envelope,
                         sending=send.sending)  # fmt: skip
    _check(planned)
    items = _new_items(session, planned)
    await _check_rules(session, planned, defaults)
    return _Ready(index, send, planned, items)


def _check(planned: Planned) -> None:
    """``_Alone`` for what a batch does not write: items updated as well as inserted (a chain,
    a claim), a fan-out the database writes better, webhook rows (expanded from the stored
    notification)."""
    if (
        planned.envelope.correlation is not None
        or planned.claimed is not None
        or len(planned.recipients.users) > MAX_USERS
        or any(row["channel"] == "webhook" for row in planned.rows)
    ):
        raise _Alone


def _new_items(session: AsyncSession, planned: Planned) -> NewItems | None:
    """The member's new items (None when it has none); ``_Alone`` for text per recipient."""
    if not has_items(planned):
        return None
    envelope = planned.envelope
    shared = Shared(envelope.personalisation, envelope.payload, envelope.message)
    found = in_app_text(session, planned.template, shared)
    if found is not None and found[1] is not None:
        raise _Alone
    text = found[0] if found is not None else render_in_app(planned.definition, envelope)
    message = in_app_message(
        planned.notification, text=text, realtime=planned.definition.realtime, claimed=None
    )
    return NewItems(message, list(planned.recipients.users))


async def _check_rules(
    session: AsyncSession, planned: Planned, defaults: dict[uuid.UUID, dict[str, Any]]
) -> None:
    """``_Alone`` when the rules would count the recipients' earlier deliveries (a frequency
    cap, a digest): those must see what the group's other members write."""
    if not any(row["user_id"] is not None for row in planned.rows):
        return  # the rules decide only rows of users
    facts = planned.facts
    if facts.digest is not None:
        raise _Alone
    if facts.mandatory:
        return
    account_id = planned.notification.account_id
    if account_id not in defaults:
        defaults.update(await store.defaults_of(session, [account_id]))
    if facts.frequency_cap or defaults.get(account_id, {}).get("frequency_cap"):
        raise _Alone


async def _refused_early(
    session: AsyncSession, ready: list[_Ready], answers: dict[int, Outcome]
) -> list[_Ready]:
    """The members this process does not already know cannot fit in today's cap, as a lone
    accept checks once the rules have decided what it costs; the others refused alone."""
    kept: list[_Ready] = []
    for member in ready:
        send = member.send
        try:
            await refuse_over_cap(session, send.throttle, send.principal, member.planned.messages)
        except daily.DailyCapReached as refused:
            answers[member.index] = refused
        else:
            kept.append(member)
    return kept


Charge = tuple[Principal, int, int]
Note = tuple[Throttle, uuid.UUID, int]


async def _within_caps(
    session: AsyncSession, ready: list[_Ready], answers: dict[int, Outcome]
) -> tuple[list[_Ready], list[Charge], list[Note]]:
    """The members that fit in their account's cap, in turn; the others refused alone.

    Returns the admitted members, one charge per account (account order, as every
    transaction takes the counts' rows) and the counts to remember once charged.
    """
    by_account: dict[uuid.UUID, list[_Ready]] = defaultdict(list)
    admitted: list[_Ready] = []
    for member in ready:
        if member.send.principal.test or member.planned.messages <= 0:
            admitted.append(member)
        else:
            by_account[member.send.principal.account_id].append(member)
    charges: list[Charge] = []
    noted: list[Note] = []
    now = datetime.now(UTC)
    day = daily.day_of(now)
    for account_id in sorted(by_account):
        members = by_account[account_id]
        first = members[0].send
        cap = await daily_cap(session, first.throttle, first.principal)
        if cap is None:
            admitted += members
            continue
        used = int(await session.scalar(daily.USED, {"account_id": account_id, "day": day}) or 0)
        total, refused = used, False
        for member in members:
            if total + member.planned.messages <= cap:
                total += member.planned.messages
                admitted.append(member)
            else:
                # As a lone accept's refusal would say: the count this transaction holds.
                answers[member.index] = daily.DailyCapReached(cap, used=total, now=now)
                refused = True
        if total > used:
            charges.append((first.principal, total - used, cap))
        if refused:
            noted.append((first.throttle, account_id, total))
    admitted.sort(key=lambda member: member.index)
    return admitted, charges, noted


async def _decide(
    session: AsyncSession, members: list[_Ready], defaults: dict[uuid.UUID, dict[str, Any]]
) -> None:
    """The rules on every admitted member's rows, each as its own notification (its facts,
    its time); the documents they read are read once. A user whose in-app item the rules
    withheld gets none (the skipped row is written instead)."""
    decided = await rules.decide_each(
        session,
        [
            rules.Decision(m.planned.rows, m.planned.facts, m.planned.notification.created_at)
            for m in members
        ],
        defaults=defaults,
    )
    for member, skipped in zip(members, decided, strict=True):
        member.skipped = skipped
        take_inbox(member.planned)
        if member.items is not None and member.planned.withheld:
            withheld = {row["user_id"] for row in member.planned.withheld}
            kept = [user for user in member.items.users if user not in withheld]
            member.items = replace(member.items, users=kept)


async def _write(session: AsyncSession, members: list[_Ready]) -> None:
    """Every admitted member's rows, a statement per table."""
    if not members:
        return
    # Push rows are split per device here, for every member at once (no webhook rows here).
    deliveries = await expand(
        session, [row for m in members for row in m.planned.rows + m.planned.withheld]
    )
    written: dict[uuid.UUID, list[str]] = defaultdict(list)
    for row in deliveries:
        written[row["notification_id"]].append(row["status"])
    for member in members:
        notification = member.planned.notification
        notification.status = progress.accepted_status(
            written[notification.id], in_app=has_items(member.planned)
        )
    await session.execute(INSERT_NOTIFICATION, [m.planned.notification.row() for m in members])
    await write_new_items(
        session, [m.items for m in members if m.items is not None], members[0].send.bus
    )
    for start in range(0, len(deliveries), CHUNK):
        await session.execute(INSERT_DELIVERIES, deliveries[start : start + CHUNK])
    if deliveries:
        wake_workers(session, members[0].send.bus)
    keyed = [m for m in members if m.send.key is not None]
    await complete_all(
        session,
        [
            Completed(m.send.principal.account_id, cast(str, m.send.key), m.send.digest, _answer(m))
            for m in keyed
        ],
    )
    for member in members:
        on_commit(session, counted(member.planned.envelope.type))


def _answer(member: _Ready) -> Answer:
    notification = member.planned.notification
    return member.send.respond(Accepted(notification.id, notification.recipients))
