"""The delivery status state machine: a pure function from (status, outcome) to a decision.

    created ──▶ sending ──▶ delivered | temporary-failure | permanent-failure
       │          │ ▲           | technical-failure | cancelled
       │          └─┘ (retry scheduled, or sent and awaiting its delivery receipt)
       └──▶ any terminal status (e.g. cancelled before it was claimed, or skipped: a
            delivery rule ruled it out when it was planned or when the worker claimed it)

A terminal status never changes: an outcome that arrives after one (a duplicate, a
late answer from a worker that lost its lease) is ignored and reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from herald.channels.base import DeliveryError, outcome_label
from herald.channels.outcome import Outcome


class DeliveryStatus(StrEnum):
    """A delivery's status, as API.md names it."""

    CREATED = "created"
    SENDING = "sending"
    DELIVERED = "delivered"
    TEMPORARY_FAILURE = "temporary-failure"
    PERMANENT_FAILURE = "permanent-failure"
    TECHNICAL_FAILURE = "technical-failure"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    """Ruled out on purpose by the recipient's delivery rules (``reason`` says which)."""


TERMINAL: frozenset[DeliveryStatus] = frozenset(
    {
        DeliveryStatus.DELIVERED,
        DeliveryStatus.TEMPORARY_FAILURE,
        DeliveryStatus.PERMANENT_FAILURE,
        DeliveryStatus.TECHNICAL_FAILURE,
        DeliveryStatus.CANCELLED,
        DeliveryStatus.SKIPPED,
    }
)

ALLOWED: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    DeliveryStatus.CREATED: frozenset({DeliveryStatus.SENDING, *TERMINAL}),
    DeliveryStatus.SENDING: frozenset({DeliveryStatus.SENDING, *TERMINAL}),
    **{status: frozenset() for status in TERMINAL},
}
"""Every edge the machine may take; a status not listed as a source never moves."""

_FINAL: dict[Outcome, DeliveryStatus] = {
    Outcome.DELIVERED: DeliveryStatus.DELIVERED,
    Outcome.PERMANENT: DeliveryStatus.PERMANENT_FAILURE,
    Outcome.CANCELLED: DeliveryStatus.CANCELLED,
    Outcome.TEMPORARY: DeliveryStatus.TEMPORARY_FAILURE,
    Outcome.TECHNICAL: DeliveryStatus.TECHNICAL_FAILURE,
    Outcome.SENT: DeliveryStatus.DELIVERED,
    Outcome.SKIPPED: DeliveryStatus.SKIPPED,
}

RETRYABLE: frozenset[Outcome] = frozenset({Outcome.TEMPORARY, Outcome.TECHNICAL})
WAITING: frozenset[Outcome] = RETRYABLE | {Outcome.SENT}
"""Outcomes that leave a delivery ``sending`` until ``retry_at``."""


@dataclass(frozen=True)
class Decision:
    """What to record after an outcome: the new status and, if any, when to retry."""

    status: DeliveryStatus
    retry_at: datetime | None = None
    ignored: bool = False
    """True when the delivery was already terminal and the outcome changed nothing."""

    @property
    def terminal(self) -> bool:
        """Whether the delivery is finished; nothing will change its status again."""
        return self.status in TERMINAL


def transition(current: DeliveryStatus, outcome: Outcome, *, retry_at: datetime | None) -> Decision:
    """Apply an attempt's outcome to a delivery in status ``current``.

    ``retry_at`` comes from the retry policy: a time to retry a retryable outcome, or
    None when retries are exhausted (the outcome then becomes its terminal failure).
    For ``sent`` it is when to stop waiting for the receipt. It is not used for other
    outcomes.
    """
    if current in TERMINAL:
        return Decision(status=current, ignored=True)
    if outcome in WAITING and retry_at is not None:
        return Decision(status=DeliveryStatus.SENDING, retry_at=retry_at)
    return Decision(status=_FINAL[outcome])


def claim(current: DeliveryStatus) -> Decision:
    """A worker takes the delivery for an attempt: it is ``sending`` unless already finished."""
    if current in TERMINAL:
        return Decision(status=current, ignored=True)
    return Decision(status=DeliveryStatus.SENDING)


def outcome_of(error: DeliveryError | None) -> Outcome:
    """The outcome of a provider's send: None for success, else what its error says."""
    return Outcome(outcome_label(error))
