"""Attempts at claimed deliveries: prepare in the claiming transaction, send holding no
transaction, record in batches.

1. Prepare (in the claim's transaction, for the whole batch): at a delivery's first
   attempt render it and store what will be sent (the log's ``rendered``, the template
   version); pick the providers.
2. Send: the simulator for test keys, else the providers with failover.
3. Record (``Recorder``, many answers per transaction): the attempt and the provider's
   answer, the status through the state machine (retry on the one policy, or the end),
   the receipt, and the status callback.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account
from herald.bus import Bus
from herald.channels.base import DeliveryError, PermanentDeliveryError
from herald.channels.failover import send_with_failover
from herald.channels.outcome import Outcome
from herald.config import Settings
from herald.db import utcnow
from herald.delivery.answer import Answer
from herald.delivery.compose import (
    TEMPLATE_USE,
    TemplateDisabled,
    compose,
    message_for,
    support_for,
    template_use,
)
from herald.delivery.composers.base import ChannelSupport, Keys, Target
from herald.delivery.effects import after_answer, status_callback
from herald.delivery.gate import Gate
from herald.delivery.models import Delivery, DeliveryAttempt
from herald.delivery.policy import DEFAULT_POLICY, RetryPolicy
from herald.delivery.providers import AnyProvider, ProviderPool
from herald.delivery.queue import Claimed, finish, lock_all
from herald.delivery.recorder import Recorder
from herald.delivery.simulator import simulate
from herald.delivery.status import TERMINAL, DeliveryStatus
from herald.delivery.templating import TemplateCache
from herald.directory.models import User
from herald.logs import get_logger
from herald.metrics import DELIVERIES_COMPLETED, DELIVERY_ATTEMPTS
from herald.notifications import progress
from herald.notifications.models import Notification
from herald.rules.escalation import NOT_NEEDED as ESCALATION_NOT_NEEDED
from herald.rules.escalation import not_needed as escalation_not_needed

_log = get_logger(__name__)
FINISHED = frozenset(s.value for s in TERMINAL)


@dataclass(frozen=True)
class Prepared:
    """A delivery ready for its attempt: the answer already known, or the providers to try."""

    delivery: Delivery
    answer: Answer | None = None
    providers: tuple[AnyProvider, ...] = ()
    loaded: Mapping[str, Any] = field(default_factory=dict)
    """What the message needs but the delivery does not store (a secret, a PDF)."""


NOT_NEEDED = Answer(
    Outcome.SKIPPED, provider_response={"reason": ESCALATION_NOT_NEEDED}, final=True
)
"""The answer of an escalation whose in-app item was read (seen, actioned) in time."""


class DeliveryRunner:
    """Runs attempts at deliveries for one worker."""

    model = Delivery

    def __init__(
        self,
        *,
        gate: Gate,
        settings: Settings,
        bus: Bus,
        worker: str,
        providers: ProviderPool,
        sealing_key: str,
        templates: TemplateCache | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self._settings = settings
        self._keys = Keys(settings, sealing_key)
        self._bus = bus
        self._worker = worker
        self._providers = providers
        self._templates = templates or TemplateCache()
        self._policy = policy
        self._recorder = Recorder(gate, self._write)
        self._prepared: dict[uuid.UUID, Prepared] = {}

    async def claimed(self, session: AsyncSession, jobs: list[Claimed]) -> None:
        """In the claiming transaction: prepare each job, and ``delivery.sending`` callbacks
        for first claims."""
        # One statement per table for the batch: the deliveries claim_due just locked (the
        # session's identity map holds them only weakly), then what composing them reads.
        rows = await _by_id(session, Delivery, [job.id for job in jobs])
        targets = await self._load_targets(
            session, [d for d in rows.values() if d.rendered is None]
        )
        providers: dict[tuple[uuid.UUID, str], tuple[AnyProvider, ...]] = {}
        first: list[uuid.UUID] = []
        needless = await escalation_not_needed(session, rows.values())
        for job in jobs:
            delivery = rows[job.id]  # claim_due locked it in this transaction
            if job.id in needless:
                delivery.reason = ESCALATION_NOT_NEEDED
                self._prepared[job.id] = Prepared(delivery, NOT_NEEDED)
                continue
            if job.previous is DeliveryStatus.CREATED:
                first.append(delivery.notification_id)
                await status_callback(session, delivery, bus=self._bus, attempts=[])
            self._prepared[job.id] = await self._prepare(session, job, delivery, providers, targets)
        await progress.started(session, first)

    async def run(self, job: Claimed) -> None:
        """Make the attempt ``job`` claimed and record its answer."""
        prepared = self._prepared.pop(job.id)
        answer = prepared.answer or await self._send(prepared)
        await self._recorder.record(job, answer)

    async def aclose(self) -> None:
        """Stop the recorder (every run has returned)."""
        await self._recorder.aclose()

    async def _prepare(
        self,
        session: AsyncSession,
        job: Claimed,
        delivery: Delivery,
        providers: dict[tuple[uuid.UUID, str], tuple[AnyProvider, ...]],
        targets: _Targets,
    ) -> Prepared:
        """What the attempt will do; ``providers`` and ``targets`` are the batch's."""
        if job.attempt > self._policy.max_attempts:
            # Its workers kept dying mid-attempt: stop before it takes down another.
            error = f"gave up after {job.attempt - 1} interrupted attempts"
            gave_up = Answer(Outcome.TECHNICAL, provider_response={"error": error}, final=True)
            return Prepared(delivery, gave_up)
        if delivery.rendered is None:
            answer = await self._compose(session, self._target(delivery, targets))
            if answer is not None:
                return Prepared(delivery, answer)
        if delivery.test:
            return Prepared(delivery, simulate(rendered_address(delivery.rendered)))
        if delivery.sent_at is not None:
            return Prepared(delivery, _no_receipt(delivery, self._policy))
        key = (delivery.account_id, delivery.channel)
        if key not in providers:
            found = await self._providers.for_channel(
                session, account_id=delivery.account_id, channel=delivery.channel
            )
            providers[key] = tuple(found)
        try:
            support = support_for(delivery)
            loaded = await support.load(session, delivery, self._keys)
        except PermanentDeliveryError as exc:
            return Prepared(delivery, Answer.failed(exc))
        if any(provider.uses_templates for provider in providers[key]):
            loaded = {**loaded, TEMPLATE_USE: await template_use(session, delivery)}
        return Prepared(
            delivery, providers=_routed(support, delivery, providers[key]), loaded=loaded
        )

    async def _compose(self, session: AsyncSession, target: Target) -> Answer | None:
        """Render and store what the delivery sends; an answer when it can never be sent."""
        try:
            composed = await compose(session, target, self._templates)
        except PermanentDeliveryError as exc:
            return Answer.failed(exc)
        except TemplateDisabled as exc:
            return Answer(Outcome.CANCELLED, provider_response={"error": str(exc)})
        target.delivery.rendered = composed
        return None

    async def _load_targets(self, session: AsyncSession, deliveries: list[Delivery]) -> _Targets:
        """The notifications, accounts and users of the deliveries to compose."""
        if not deliveries:
            return _Targets({}, {}, {})
        return _Targets(
            await _by_id(session, Notification, [d.notification_id for d in deliveries]),
            await _by_id(session, Account, [d.account_id for d in deliveries]),
            await _by_id(session, User, [d.user_id for d in deliveries if d.user_id]),
        )

    def _target(self, delivery: Delivery, targets: _Targets) -> Target:
        notification = targets.notifications[delivery.notification_id]
        account = targets.accounts[delivery.account_id]  # foreign keys, cascading
        user = targets.users[delivery.user_id] if delivery.user_id else None
        return Target(delivery, notification, account, user, self._settings, self._keys.sealing_key)

    async def _send(self, prepared: Prepared) -> Answer:
        try:
            message = message_for(prepared.delivery, prepared.loaded)
            sent = await send_with_failover(prepared.providers, message)
        except DeliveryError as exc:
            return Answer.failed(exc)
        return Answer.accepted(sent.provider.name, sent.result)

    async def _write(self, session: AsyncSession, batch: list[tuple[Claimed, Answer]]) -> None:
        """Record answers (in the recorder's batch transaction): the rows locked with one
        statement, the changes flushed once, then the status callbacks of changed rows."""
        rows = await lock_all(session, Delivery, [job.id for job, _ in batch])
        now = utcnow()
        changed: list[Delivery] = []
        ended: list[uuid.UUID] = []
        for job, answer in batch:
            row = rows.get(job.id)
            if row is None:
                continue
            done = finish(
                row,
                job=job,
                worker=self._worker,
                outcome=answer.outcome,
                retry_after=answer.retry_after,
                final=answer.final,
                policy=self._policy,
                now=now,
            )
            _record_answer(session, row, answer, job=job, applied=done.applied, now=now)
            _observe(row, answer, completed=done.changed and row.status in FINISHED)
            await after_answer(session, row, answer, applied=done.applied)
            if done.changed:
                changed.append(row)
            if done.applied and done.decision.terminal:
                ended.append(row.notification_id)
        # The statuses are read back by ``settle``, and the callbacks' documents list each
        # delivery's attempts, this one included.
        await session.flush()
        await progress.settle(session, ended)
        if changed:
            for row in changed:
                await status_callback(session, row, bus=self._bus)


def _record_answer(
    session: AsyncSession,
    row: Delivery,
    answer: Answer,
    *,
    job: Claimed,
    applied: bool,
    now: Any,
) -> None:
    """The attempt, and (when it counted) who sent it and the receipt."""
    session.add(
        DeliveryAttempt(
            delivery_id=row.id,
            at=now,
            outcome=answer.outcome.value,
            provider=answer.provider,
            provider_response=dict(answer.provider_response),
            possible_duplicate=answer.possible_duplicate or job.lease_was_lost,
        )
    )
    if answer.possible_duplicate or job.lease_was_lost:
        row.possible_duplicate = True
    if applied and answer.provider:
        row.provider = answer.provider
    if applied and answer.outcome in (Outcome.DELIVERED, Outcome.SENT):
        row.receipt = answer.receipt
        row.provider_message_id = answer.provider_message_id
        row.sent_at = row.sent_at or now


def _observe(row: Delivery, answer: Answer, *, completed: bool) -> None:
    """Count the attempt (and the delivery, when it ended); log a line when it failed, so an
    operator sees a delivery failing before its retries run out."""
    DELIVERY_ATTEMPTS.labels(row.channel, answer.outcome.value).inc()
    if completed:
        DELIVERIES_COMPLETED.labels(row.channel, row.status).inc()
    if answer.outcome in (Outcome.DELIVERED, Outcome.SENT, Outcome.CANCELLED, Outcome.SKIPPED):
        return
    retrying = row.status == DeliveryStatus.SENDING.value
    _log.warning(
        "delivery.attempt_failed",
        delivery_id=str(row.id),
        channel=row.channel,
        provider=answer.provider,
        outcome=answer.outcome.value,
        provider_response=dict(answer.provider_response),
        attempts=row.attempts,
        status=row.status,
        next_attempt_at=row.due_at.isoformat() if retrying else None,
    )


def _routed(
    support: ChannelSupport, delivery: Delivery, providers: tuple[AnyProvider, ...]
) -> tuple[AnyProvider, ...]:
    """The providers able to send this delivery (a push goes to its platform's service)."""
    if support.route is None or delivery.rendered is None:
        return providers
    names = support.route(delivery.rendered)
    return tuple(provider for provider in providers if provider.name in names)


def _no_receipt(delivery: Delivery, policy: RetryPolicy) -> Answer:
    """A sent message whose delivery receipt never came: the provider took it, so it ends
    ``delivered`` (as every channel's accepted message does), and the receipt says why."""
    hours = round(policy.receipt_wait.total_seconds() / 3600)
    return Answer(
        Outcome.DELIVERED,
        provider=delivery.provider,
        provider_response={"receipt": f"none within {hours} h"},
        receipt=f"{delivery.receipt or 'accepted'}; no delivery receipt within {hours} h",
        provider_message_id=delivery.provider_message_id,
    )


def rendered_address(rendered: dict[str, Any] | None) -> str | None:
    """The first recipient in a stored ``rendered`` document (email's To, else ``to``)."""
    if not rendered:
        return None
    emails = rendered.get("emails")
    if isinstance(emails, dict) and emails.get("to"):
        return str(emails["to"][0])
    to = rendered.get("to")
    return to if isinstance(to, str) else None


@dataclass(frozen=True)
class _Targets:
    """What composing a batch's deliveries reads, by id."""

    notifications: Mapping[uuid.UUID, Notification]
    accounts: Mapping[uuid.UUID, Account]
    users: Mapping[uuid.UUID, User]


_Row = TypeVar("_Row", Delivery, Notification, Account, User)


async def _by_id(
    session: AsyncSession, model: type[_Row], ids: list[uuid.UUID]
) -> dict[uuid.UUID, _Row]:
    """Rows of ``model`` by primary key ``id``, in one statement."""
    if not ids:
        return {}
    rows = await session.scalars(select(model).where(model.id.in_(list(dict.fromkeys(ids)))))
    return {row.id: row for row in rows}
