"""Send through a channel's providers in priority order, skipping those whose circuit is open."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic

from herald.channels.base import (
    DeliveryResult,
    MessageT,
    PermanentDeliveryError,
    Provider,
    RetryableDeliveryError,
)
from herald.logs import get_logger

_log = get_logger(__name__)


@dataclass(frozen=True)
class FailoverResult(Generic[MessageT]):
    """The answer, and which provider gave it."""

    provider: Provider[MessageT, Any]
    result: DeliveryResult


async def send_with_failover(
    providers: Sequence[Provider[MessageT, Any]], message: MessageT
) -> FailoverResult[MessageT]:
    """Try each provider in turn until one accepts ``message``.

    Fails over on retryable errors only. It stops at a permanent error (another provider
    would refuse the same message) and at a possible duplicate (sending again at once
    would make the duplicate likelier; the retry policy decides instead). Only technical
    errors count against a provider's circuit: a full mailbox says nothing of its health.
    When nothing accepts, the last error is raised, or a technical one if every circuit
    was open.
    """
    last_error: RetryableDeliveryError | None = None
    for provider in providers:
        if not provider.circuit.allow():
            _log.info("failover.skipped", provider=provider.name, circuit="open")
            continue
        try:
            result = await provider.send(message)
        except PermanentDeliveryError:
            provider.circuit.record_success()
            raise
        except RetryableDeliveryError as exc:
            _record_retryable(provider, exc)
            if exc.possible_duplicate:
                raise
            last_error = exc
            continue
        provider.circuit.record_success()
        return FailoverResult(provider=provider, result=result)
    raise last_error or RetryableDeliveryError(
        "no provider available (none, or every circuit open)"
    )


def _record_retryable(provider: Provider[Any, Any], error: RetryableDeliveryError) -> None:
    """A technical error is the provider's failure; a temporary one is the recipient's."""
    if error.temporary:
        provider.circuit.record_success()
    else:
        provider.circuit.record_failure()
