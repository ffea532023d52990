"""An attempt's answer, whoever gave it: a provider, the simulator, or Herald itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from herald.channels.base import DeliveryError, DeliveryResult, RetryableDeliveryError
from herald.channels.outcome import Outcome
from herald.delivery.status import outcome_of

ACTION_FLAGS = ("invalid_token", "disable_endpoint")
"""Class attributes of provider errors that ask the pipeline to act (see ``effects``)."""


@dataclass(frozen=True)
class Answer:
    """What one attempt ended with, as the delivery log records it."""

    outcome: Outcome
    provider: str | None = None
    provider_response: Mapping[str, Any] = field(default_factory=dict)
    receipt: str | None = None
    provider_message_id: str | None = None
    possible_duplicate: bool = False
    retry_after: float | None = None
    final: bool = False
    """End the delivery now even if the outcome is retryable (the simulator's temp-fail)."""

    @classmethod
    def accepted(cls, provider: str, result: DeliveryResult) -> Answer:
        """A provider took the message (``sent`` when its receipt will say the rest)."""
        return cls(
            Outcome.SENT if result.awaits_receipt else Outcome.DELIVERED,
            provider=provider,
            provider_response=dict(result.provider_response),
            receipt=result.receipt,
            provider_message_id=result.provider_message_id,
            possible_duplicate=result.possible_duplicate,
        )

    @classmethod
    def failed(cls, error: DeliveryError) -> Answer:
        """A provider (or composing the message) refused or failed."""
        retryable = error if isinstance(error, RetryableDeliveryError) else None
        # What the pipeline must do besides recording (remove a device, disable an
        # endpoint) travels as flags in the response the log keeps.
        flags = {flag: True for flag in ACTION_FLAGS if getattr(error, flag, False)}
        return cls(
            outcome_of(error),
            provider=error.provider,
            provider_response={**error.provider_response, **flags, "error": error.message},
            possible_duplicate=retryable is not None and retryable.possible_duplicate,
            retry_after=retryable.retry_after if retryable is not None else None,
        )
