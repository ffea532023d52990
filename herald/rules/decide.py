"""The delivery rules, decided once for a notification's planned deliveries, in bulk.

``decide`` runs in the accepting transaction on the rows ``outbox.plan`` made, before they are
written, in this order: preferences (opted out → ``skipped``, ``preference``), frequency caps
(``frequency_cap``), digests (a later event → ``skipped``, ``digested``; the first is due when
the window ends), escalation (due at ``after``, checked again by the worker that claims it) and
quiet hours (``created``, due when the window ends). A row a rule rules out is written with its
``reason``, never dropped. ``in_app`` rows (one per user, when the notification has an inbox
item) meet the preferences only: one ruled out is written ``skipped`` and its user gets no item.
Every lookup is one statement per 5000 recipients (preferences, timezones, recent counts, open
digests), never one per recipient.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.db import AfterCommit, on_commit
from herald.delivery.status import DeliveryStatus
from herald.directory.models import User
from herald.metrics import DELIVERIES_SKIPPED
from herald.rules import caps, owners, store
from herald.rules.digests import DIGESTED, DigestRule, fold, rule_of
from herald.rules.durations import parse_duration
from herald.rules.escalation import escalate, steps_of
from herald.rules.quiet import clock, window_end, zone

CHUNK = 5000
QUIET_CHANNELS = frozenset({"email", "sms", "push"})
"""Channels that wait out quiet hours (in-app items, webhooks and letters do not)."""
PREFERENCE, FREQUENCY_CAP = "preference", "frequency_cap"
IN_APP = "in_app"
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
    count_skipped(session, await decide_each(session, [Decision(rows, facts, now)]))


async def decide_each(
    session: AsyncSession,
    decisions: Iterable[Decision],
    *,
    defaults: Mapping[uuid.UUID, Mapping[str, Any]] | None = None,
) -> list[dict[str, int]]:
    """``decide`` for several notifications at once (a group commit's batch): the accounts'
    defaults (unless given, as ``store.defaults_of`` reads them in this transaction) and the
    users' documents are read once for all, and each notification's rows are then decided
    as ``decide`` alone would, in turn. Answers what each decision ruled out, by reason, for
    ``count_skipped`` to count once the ones written are known."""
    decisions = list(decisions)
    skipped: list[dict[str, int]] = [defaultdict(int) for _ in decisions]
    sorted_rows: list[tuple[list[Person], list[_Raw]]] = []
    for decision in decisions:
        facts = decision.facts
        facts_of_account = (lambda _, f=facts: f) if isinstance(facts, Facts) else facts.__getitem__
        sorted_rows.append(_sort(decision.rows, facts_of_account))
    # Whose the raw addresses are, for every decision at once.
    addresses = {address for _, raw in sorted_rows for _, _, address in raw}
    found = await owners.owners(session, addresses) if addresses else {}
    each: list[tuple[int, Decision, list[Person]]] = []
    for n, (decision, (people, raw)) in enumerate(zip(decisions, sorted_rows, strict=True)):
        people += [
            Person(row, replace(own_facts, digest=None, escalation={}), found[address], True)
            for row, own_facts, address in raw
            if address in found
        ]
        if people:
            each.append((n, decision, people))
    if not each:
        return skipped
    everyone = [person for _, _, people in each for person in people]
    accounts = {person.row["account_id"] for person in everyone}
    if defaults is None or not accounts <= defaults.keys():
        defaults = await store.defaults_of(session, accounts)
    own = await store.users_own(session, {person.who for person in everyone})
    for n, decision, people in each:
        await _apply(session, people, defaults, own, now=decision.now, skipped=skipped[n])
    return skipped


def count_skipped(session: AsyncSession, decided: Iterable[Mapping[str, int]]) -> None:
    """Once committed, count the deliveries the rules ruled out (``decide_each``'s answers
    for the notifications written) in ``herald_deliveries_skipped_total``."""
    total: Counter[str] = Counter()
    for skipped in decided:
        total.update(skipped)
    if total:
        on_commit(session, _count(dict(total)))


async def _apply(
    session: AsyncSession,
    people: list[Person],
    defaults: Mapping[uuid.UUID, Mapping[str, Any]],
    own: Mapping[uuid.UUID, Mapping[str, Any]],
    *,
    now: datetime,
    skipped: dict[str, int],
) -> None:
    """The rules on one notification's rows of users, given the documents they read."""
    live: list[Live] = []
    for person in people:
        row, row_facts = person.row, person.facts
        account_defaults = defaults[row["account_id"]]
        # The user's document over the defaults, read in place: merging 100,000 documents
        # into new ones cost more than reading them (bench/fanout.py --case rules).
        document = own.get(person.who, NOTHING)
        channel, category = row["channel"], row_facts.category
        if not row_facts.mandatory and not allowed(document, account_defaults, category, channel):
            _skip(row, PREFERENCE, now, skipped)
        elif channel != IN_APP:  # an inbox item is neither capped, digested nor held
            # A digest already gathers what a cap would hold back ("join the next digest").
            uncapped = row_facts.mandatory or row_facts.digest is not None or person.by_address
            cap = (
                None
                if uncapped
                else (row_facts.frequency_cap or account_defaults.get("frequency_cap"))
            )
            # The user's own quiet hours win, ``null`` (none) included.
            holder = document if "quiet_hours" in document else account_defaults
            live.append(Live(row, holder.get("quiet_hours"), row_facts, cap, person.who))
    live = await _apply_caps(session, live, now=now, skipped=skipped)
    live = await _apply_digests(session, live, now=now, skipped=skipped)
    for one in live:
        escalate(one.row, one.facts.escalation)
    await _apply_quiet_hours(session, [one for one in live if not one.facts.urgent])


class Person(NamedTuple):  # one per planned row of a fan-out: a tuple is cheapest to make
    """A row whose recipient is a directory user: ``who``, the row's user or the one user
    whose address the row names (``by_address``: only that user's choices apply to it, the
    preferences and quiet hours; caps, digests and escalation count and follow the rows
    addressed to users)."""

    row: dict[str, Any]
    facts: Facts
    who: uuid.UUID
    by_address: bool = False


_Raw = tuple[dict[str, Any], Facts, owners.Address]


def _sort(
    rows: list[dict[str, Any]], facts_of: Callable[[uuid.UUID], Facts]
) -> tuple[list[Person], list[_Raw]]:
    """Give each row its category; the rows a directory user receives, and those to a raw
    address that may be one user's."""
    people: list[Person] = []
    raw: list[_Raw] = []
    for row in rows:
        own_facts = facts_of(row["account_id"])
        row["category"] = own_facts.category
        row["mandatory"] = own_facts.mandatory
        if row["user_id"] is not None:
            people.append(Person(row, own_facts, row["user_id"]))
        elif (address := owners.address_of(row)) is not None:
            raw.append((row, own_facts, address))
    return people, raw


@dataclass(frozen=True)
class Live:
    """A row no preference ruled out, with what still applies to it."""

    row: dict[str, Any]
    quiet_hours: Mapping[str, Any] | None
    """The quiet hours in effect for the row's recipient."""
    facts: Facts
    cap: Mapping[str, Any] | None
    who: uuid.UUID
    """The recipient whose timezone the quiet hours are in."""


def _skip(row: dict[str, Any], reason: str, now: datetime, skipped: dict[str, int]) -> None:
    row["status"] = DeliveryStatus.SKIPPED.value
    row["reason"] = reason
    row["completed_at"] = now
    skipped[reason] += 1


async def _apply_caps(
    session: AsyncSession, live: list[Live], *, now: datetime, skipped: dict[str, int]
) -> list[Live]:
    """Skip the rows of recipients who already had ``max`` notifications of the category
    within ``per`` (counted by notification, so one on two channels counts once), read under
    the locks that keep the count exact until this transaction commits (``caps``)."""
    groups: dict[tuple[str, int, str], list[Live]] = defaultdict(list)
    for one in live:
        if one.cap:
            groups[(one.facts.category, int(one.cap["max"]), str(one.cap["per"]))].append(one)
    by_category: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (category, _, _), capped in groups.items():
        by_category[category] += [one.row for one in capped]
    await caps.lock(session, by_category)
    over: set[int] = set()
    for (category, most, per), capped in groups.items():
        counts = await caps.recent(
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
    users = list({one.who for one in quiet})
    zones: dict[uuid.UUID, str | None] = {}
    for start in range(0, len(users), CHUNK):
        found = await session.execute(
            select(User.id, User.timezone).where(User.id.in_(users[start : start + CHUNK]))
        )
        zones.update(dict(found.all()))
    for one in quiet:
        row, window = one.row, one.quiet_hours
        assert window is not None  # selected above
        tz = zone(zones.get(one.who))
        ends = window_end(row["due_at"], tz, clock(window["start"]), clock(window["end"]))
        if ends is not None and ends > row["due_at"]:
            row["due_at"] = ends


def _count(skipped: dict[str, int]) -> AfterCommit:
    async def count() -> None:
        for reason, n in skipped.items():
            DELIVERIES_SKIPPED.labels(reason).inc(n)

    return count
