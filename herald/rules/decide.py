"""The delivery rules, decided once for a notification's planned deliveries, in bulk.

``decide`` runs in the accepting transaction on the rows ``outbox.plan`` made, before they are
written, in this order: preferences (opted out → ``skipped``, ``preference``), frequency caps
(``frequency_cap``), digests (a later event → ``skipped``, ``digested``; the first is due when
the window ends), escalation (due at ``after``, checked again by the worker that claims it) and
quiet hours (``created``, due when the window ends). A row a rule rules out is written with its
``reason``, never dropped. Every lookup is one statement per 5000 recipients (preferences,
timezones, recent counts, open digests), never one per recipient.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.db import AfterCommit, on_commit
from herald.delivery.models import Delivery
from herald.delivery.status import DeliveryStatus
from herald.directory.models import User
from herald.metrics import DELIVERIES_SKIPPED
from herald.rules import store
from herald.rules.digests import DIGESTED, DigestRule, fold, rule_of
from herald.rules.durations import parse_duration
from herald.rules.escalation import escalate, steps_of
from herald.rules.quiet import clock, window_end, zone

CHUNK = 5000
QUIET_CHANNELS = frozenset({"email", "sms", "push"})
"""Channels that wait out quiet hours (in-app items, webhooks and letters do not)."""
PREFERENCE, FREQUENCY_CAP = "preference", "frequency_cap"
NOTHING: Mapping[str, Any] = {}


@dataclass(frozen=True)
class Facts:
    """What the rules need to know of the notification whose deliveries they decide."""

    category: str
    """Its template's ``category``, else its type."""
    mandatory: bool = False
    """A mandatory type or template, or ``requireAction``: opt-outs and caps do not apply."""
    urgent: bool = False
    """``urgent: true`` on the envelope: quiet hours do not apply."""
    frequency_cap: Mapping[str, Any] | None = None
    """The type's or template's cap (else the account defaults' applies)."""
    digest: DigestRule | None = None
    """The digest the notification's events gather in, if its type or template has one."""
    escalation: Mapping[str, tuple[timedelta, str]] = field(default_factory=dict)
    """channel → (after, unless): channels sent only if the in-app item was not read."""


def facts_of(
    *,
    type_: str,
    type_rules: Mapping[str, Any] | None,
    template_body: Mapping[str, Any] | None,
    require_action: bool = False,
    urgent: bool = False,
    scope: str = "",
    payload: Mapping[str, Any] | None = None,
    escalation: Iterable[Mapping[str, Any]] | None = None,
) -> Facts:
    """The facts of a notification of ``type_`` (its rules) sent with a template's body;
    ``scope`` (the template or type/subType) and ``payload`` make its digest's key."""
    body = template_body or {}
    rules = type_rules or {}
    digest = body.get("digest") or rules.get("digest")
    return Facts(
        category=str(body.get("category") or type_),
        mandatory=bool(body.get("mandatory") or rules.get("mandatory") or require_action),
        urgent=urgent,
        frequency_cap=body.get("frequency_cap") or rules.get("frequency_cap"),
        digest=rule_of(digest, scope=scope or type_, payload=payload or {}),
        escalation=steps_of(escalation if escalation is not None else rules.get("escalation")),
    )


def allowed(
    own: Mapping[str, Any], defaults: Mapping[str, Any], category: str, channel: str
) -> bool:
    """Whether a user's document over the account tree's defaults lets ``category`` through on
    ``channel``: the category's choice for the channel (the user's, else the defaults'), else
    the channel's (likewise), else yes. The same answer as on ``store.merge`` of the two."""
    for document in (own, defaults):
        chosen = (document.get("categories") or {}).get(category, {}).get(channel)
        if chosen is not None:
            return chosen is not False
    for document in (own, defaults):
        chosen = (document.get("channels") or {}).get(channel)
        if chosen is not None:
            return chosen is not False
    return True


@dataclass(frozen=True)
class Decision:
    """One notification's planned rows, its facts (or each account's, by account id: a
    broadcast) and its time."""

    rows: list[dict[str, Any]]
    facts: Facts | Mapping[uuid.UUID, Facts]
    now: datetime


async def decide(
    session: AsyncSession,
    rows: list[dict[str, Any]],
    facts: Facts | Mapping[uuid.UUID, Facts],
    *,
    now: datetime,
) -> None:
    """Apply the rules to planned delivery rows in place. The rows may span several accounts
    (a broadcast): ``facts`` is then each account's (by account id). The statements made do
    not grow with the accounts, only with the recipients (one per 5000)."""
    await decide_each(session, [Decision(rows, facts, now)])


async def decide_each(
    session: AsyncSession,
    decisions: Iterable[Decision],
    *,
    defaults: Mapping[uuid.UUID, Mapping[str, Any]] | None = None,
) -> None:
    """``decide`` for several notifications at once (a group commit's batch): the accounts'
    defaults (unless given, as ``store.defaults_of`` reads them in this transaction) and the
    users' documents are read once for all, and each notification's rows are then decided
    as ``decide`` alone would, in turn."""
    each: list[tuple[Decision, list[tuple[dict[str, Any], Facts]]]] = []
    for decision in decisions:
        facts = decision.facts
        facts_of_account = (lambda _, f=facts: f) if isinstance(facts, Facts) else facts.__getitem__
        people: list[tuple[dict[str, Any], Facts]] = []
        for row in decision.rows:
            own_facts = facts_of_account(row["account_id"])
            row["category"] = own_facts.category
            row["mandatory"] = own_facts.mandatory
            if row["user_id"] is not None:
                people.append((row, own_facts))
        if people:
            each.append((decision, people))
    if not each:
        return
    everyone = [row for _, people in each for row, _ in people]
    accounts = {row["account_id"] for row in everyone}
    if defaults is None or not accounts <= defaults.keys():
        defaults = await store.defaults_of(session, accounts)
    own = await store.users_own(session, {row["user_id"] for row in everyone})
    skipped: dict[str, int] = defaultdict(int)
    for decision, people in each:
        await _apply(session, people, defaults, own, now=decision.now, skipped=skipped)
    if skipped:
        on_commit(session, _count(dict(skipped)))


async def _apply(
    session: AsyncSession,
    people: list[tuple[dict[str, Any], Facts]],
    defaults: Mapping[uuid.UUID, Mapping[str, Any]],
    own: Mapping[uuid.UUID, Mapping[str, Any]],
    *,
    now: datetime,
    skipped: dict[str, int],
) -> None:
    """The rules on one notification's rows of users, given the documents they read."""
    live: list[Live] = []
    for row, row_facts in people:
        account_defaults = defaults[row["account_id"]]
        # The user's document over the defaults, read in place: merging 100,000 documents
        # into new ones cost more than reading them (bench/fanout.py --case rules).
        document = own.get(row["user_id"], NOTHING)
        channel, category = row["channel"], row_facts.category
        if not row_facts.mandatory and not allowed(document, account_defaults, category, channel):
            _skip(row, PREFERENCE, now, skipped)
        else:
            # A digest already gathers what a cap would hold back ("join the next digest").
            uncapped = row_facts.mandatory or row_facts.digest is not None
            cap = (
                None
                if uncapped
                else (row_facts.frequency_cap or account_defaults.get("frequency_cap"))
            )
            # The user's own quiet hours win, ``null`` (none) included.
            holder = document if "quiet_hours" in document else account_defaults
            live.append(Live(row, holder.get("quiet_hours"), row_facts, cap))
    live = await _apply_caps(session, live, now=now, skipped=skipped)
    live = await _apply_digests(session, live, now=now, skipped=skipped)
    for one in live:
        escalate(one.row, one.facts.escalation)
    await _apply_quiet_hours(session, [one for one in live if not one.facts.urgent])


@dataclass(frozen=True)
class Live:
    """A row no preference ruled out, with what still applies to it."""

    row: dict[str, Any]
    quiet_hours: Mapping[str, Any] | None
    """The quiet hours in effect for the row's recipient."""
    facts: Facts
    cap: Mapping[str, Any] | None


def _skip(row: dict[str, Any], reason: str, now: datetime, skipped: dict[str, int]) -> None:
    row["status"] = DeliveryStatus.SKIPPED.value
    row["reason"] = reason
    row["completed_at"] = now
    skipped[reason] += 1


async def _apply_caps(
    session: AsyncSession, live: list[Live], *, now: datetime, skipped: dict[str, int]
) -> list[Live]:
    """Skip the rows of recipients who already had ``max`` notifications of the category
    within ``per`` (counted by notification, so one on two channels counts once)."""
    groups: dict[tuple[str, int, str], list[Live]] = defaultdict(list)
    for one in live:
        if one.cap:
            groups[(one.facts.category, int(one.cap["max"]), str(one.cap["per"]))].append(one)
    over: set[int] = set()
    for (category, most, per), capped in groups.items():
        counts = await _recent(
            session, [one.row for one in capped], category, now - parse_duration(per)
        )
        over.update(id(one) for one in capped if counts.get(one.row["user_id"], 0) >= most)
    kept = []
    for one in live:
        if id(one) in over:
            _skip(one.row, FREQUENCY_CAP, now, skipped)
        else:
            kept.append(one)
    return kept


async def _recent(
    session: AsyncSession, rows: list[dict[str, Any]], category: str, since: datetime
) -> dict[uuid.UUID, int]:
    """How many notifications of ``category`` each row's recipient had since ``since``."""
    users = list({row["user_id"] for row in rows})
    counts: dict[uuid.UUID, int] = {}
    for start in range(0, len(users), CHUNK):
        found = await session.execute(
            select(Delivery.user_id, func.count(distinct(Delivery.notification_id)))
            .where(
                Delivery.user_id.in_(users[start : start + CHUNK]),
                Delivery.category == category,
                Delivery.created_at >= since,
                Delivery.status != DeliveryStatus.SKIPPED.value,
            )
            .group_by(Delivery.user_id)
        )
        counts.update({uid: int(n) for uid, n in found if uid is not None})
    return counts


async def _apply_digests(
    session: AsyncSession, live: list[Live], *, now: datetime, skipped: dict[str, int]
) -> list[Live]:
    """Fold rows into their recipients' open digests (``herald.rules.digests``)."""
    groups: dict[DigestRule, list[Live]] = defaultdict(list)
    for one in live:
        if one.facts.digest is not None:
            groups[one.facts.digest].append(one)
    folded: set[int] = set()
    for rule, members in groups.items():
        joined = await fold(session, [one.row for one in members], rule, now=now)
        folded.update(id(row) for row in joined)
    kept = []
    for one in live:
        if id(one.row) in folded:
            _skip(one.row, DIGESTED, now, skipped)
        else:
            kept.append(one)
    return kept


async def _apply_quiet_hours(session: AsyncSession, live: list[Live]) -> None:
    """Hold email, SMS and push rows due inside the recipient's quiet hours until they end."""
    quiet = [one for one in live if one.quiet_hours and one.row["channel"] in QUIET_CHANNELS]
    if not quiet:
        return
    users = list({one.row["user_id"] for one in quiet})
    zones: dict[uuid.UUID, str | None] = {}
    for start in range(0, len(users), CHUNK):
        found = await session.execute(
            select(User.id, User.timezone).where(User.id.in_(users[start : start + CHUNK]))
        )
        zones.update(dict(found.all()))
    for one in quiet:
        row, window = one.row, one.quiet_hours
        assert window is not None  # selected above
        tz = zone(zones.get(row["user_id"]))
        ends = window_end(row["due_at"], tz, clock(window["start"]), clock(window["end"]))
        if ends is not None and ends > row["due_at"]:
            row["due_at"] = ends


def _count(skipped: dict[str, int]) -> AfterCommit:
    async def count() -> None:
        for reason, n in skipped.items():
            DELIVERIES_SKIPPED.labels(reason).inc(n)

    return count
