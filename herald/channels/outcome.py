"""What became of a message, as a provider reports it: the channel contract's own word,
which the delivery state machine (``herald.delivery.status``) maps to a delivery status."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What happened to one attempt (or to the delivery as a whole, for ``cancelled``)."""

    DELIVERED = "delivered"
    TEMPORARY = "temporary"
    """Retryable, on the recipient's side: mailbox full, SMTP 4xx."""
    TECHNICAL = "technical"
    """Retryable, on Herald's or the provider's side: connection refused, timeout."""
    PERMANENT = "permanent"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    """A delivery rule found, when the delivery was claimed, that it is not needed (an
    escalation whose in-app item was read in time): no provider was asked."""
    SENT = "sent"
    """A provider took it and will send a delivery receipt (SMS): it is ``sending`` until the
    receipt comes, and ``delivered`` if none comes in time."""
