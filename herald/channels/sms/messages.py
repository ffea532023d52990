"""What an SMS provider sends, what a delivery receipt says, and a message it received, shared
by the SMS providers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from herald.channels.base import OutboundMessage
from herald.channels.outcome import Outcome
from herald.channels.sms.segments import SegmentCount, count_segments

# E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
E164 = re.compile(r"\+[1-9][0-9]{6,14}")

ReceiptOutcome = Literal["pending", "delivered", "temporary", "permanent", "technical"]
"""A provider status as a mapping names it; "pending" is not final (queued, sent...)."""


@dataclass(frozen=True, kw_only=True)
class SmsMessage(OutboundMessage):
    """One text message to one number; ``recipient`` is the number in E.164 (``+4571000000``).

    ``sender`` is an approved sender name or a number; None lets the provider use its
    default. ``segments`` (encoding, billing characters, parts) is derived from ``body``.
    """

    channel: ClassVar[str] = "sms"
    body: str
    sender: str | None = None
    segments: SegmentCount = field(init=False)

    def __post_init__(self) -> None:
        # Numbers are normalised before a message is built; anything else here is a bug.
        if not E164.fullmatch(self.recipient):
            raise ValueError("an SMS recipient must be a number in E.164 form")
        object.__setattr__(self, "segments", count_segments(self.body))


@dataclass(frozen=True)
class SmsReceipt:
    """A delivery receipt: which message (the provider's id) and what became of it.

    ``outcome`` is None while the message is not final (queued, sent, en route), or when
    the provider's status is not one the mapping knows (``status`` keeps its word).
    """

    provider_message_id: str
    status: str
    outcome: Outcome | None
    error_code: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InboundSms:
    """A text message a person sent to one of the account's numbers.

    ``sender`` and ``recipient`` are as the provider gave them (a number, or a short code);
    ``provider_message_id`` is the provider's id for it, when it gives one.
    """

    sender: str
    recipient: str
    body: str
    provider_message_id: str | None = None


def outcome_of_status(name: ReceiptOutcome | None) -> Outcome | None:
    """The delivery outcome a mapped provider status stands for; None while not final."""
    if name is None or name == "pending":
        return None
    return Outcome(name)
